package dev.brokerctl.vault;

import static dev.brokerctl.vault.TestVaults.reveal;
import static dev.brokerctl.vault.TestVaults.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.audit.AuditEvent;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attacks of issue 12 that need no key, each an SQL edit on the real file by a process that
 * can write it (as any same-user process can): rows written back from an older copy, a deleted row
 * put back, rows or tables dropped, an old vault state or audit head put back. Each is an
 * integrity error naming what disagrees, and each has its control: the same read without the
 * edit succeeds.
 */
class VaultStateTamperTest {

    @TempDir
    Path tmp;
    Path file;

    @BeforeEach
    void create() throws Exception {
        file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("prod", Policy.AUTO);
            s.put("prod", "API_KEY", value("canary-old-value-7f3a"), "the key");
            s.put("prod", "OTHER", value("other-value"), null);
        }
    }

    /** A row's cells as stored, to write back later. */
    private record Saved(byte[] name, byte[] second, byte[] third, long version) {
    }

    private Saved environmentRow(RawDb db) throws Exception {
        return new Saved(db.blob("SELECT name FROM environment"), db.blob("SELECT policy FROM environment"),
                null, db.number("SELECT version FROM environment"));
    }

    private static void putBackEnvironment(RawDb db, Saved s) throws Exception {
        db.update("UPDATE environment SET name = ?, policy = ?, version = ?", s.name(), s.second(), s.version());
    }

    private static VaultIntegrityException integrityError(Path file, ThrowingAction action) throws Exception {
        try (VaultSession s = TestVaults.unlock(file)) {
            return assertThrows(VaultIntegrityException.class, () -> action.run(s));
        }
    }

    @FunctionalInterface
    interface ThrowingAction {
        void run(VaultSession s) throws Exception;
    }

    // ------------------------------------------------------------ the policy replay (issue 12, 1)

    @Test
    void oldAutoPolicyWrittenBack_isRefused_notReadAsAuto() throws Exception {
        Saved auto;
        try (RawDb db = new RawDb(file)) {
            auto = environmentRow(db);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            s.setPolicy("prod", Policy.PROMPT);
            assertEquals(Policy.PROMPT, s.environment("prod").policy());   // control
        }
        try (RawDb db = new RawDb(file)) {
            putBackEnvironment(db, auto);
        }
        VaultIntegrityException e = integrityError(file, s -> s.environment("prod"));
        assertTrue(e.getMessage().contains("failed its integrity check: an environment row is not at the version"
                + " the sealed vault state records"), e.getMessage());
        assertTrue(e.getMessage().contains("an older copy of it was written back (a replayed or rolled-back row)"),
                e.getMessage());
        integrityError(file, s -> s.resolve("prod", null).close());
        integrityError(file, s -> s.listEnvironments());
    }

    @Test
    void oldPolicyBlobAlone_underTheNewVersion_doesNotDecrypt() throws Exception {
        byte[] autoPolicy;
        try (RawDb db = new RawDb(file)) {
            autoPolicy = db.blob("SELECT policy FROM environment");
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            s.setPolicy("prod", Policy.PROMPT);
        }
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE environment SET policy = ?", autoPolicy);
        }
        VaultIntegrityException e = integrityError(file, s -> s.environment("prod"));
        assertTrue(e.getMessage().contains("environment 'prod' failed its integrity check"), e.getMessage());
    }

    /** With a session open (the daemon's case), the check names the row that went back. */
    @Test
    void policyReplayedUnderAnOpenSession_namesTheEnvironment() throws Exception {
        Saved auto;
        try (RawDb db = new RawDb(file)) {
            auto = environmentRow(db);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            s.setPolicy("prod", Policy.PROMPT);
            long now;
            try (RawDb db = new RawDb(file)) {
                now = db.number("SELECT version FROM environment");
                putBackEnvironment(db, auto);
            }
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class, () -> s.environment("prod"));
            assertTrue(e.getMessage().contains("(environment 'prod' is at version " + auto.version()
                    + ", this vault last wrote it at " + now + ")"), e.getMessage());
            // and again on the next call: no use of the vault slips through after the first refusal
            assertThrows(VaultIntegrityException.class, () -> s.resolve("prod", null));
        }
    }

    // ------------------------------------------------------------ values and rows (issue 12, 2)

    @Test
    void valueRolledBack_isRefused() throws Exception {
        Saved old;
        try (RawDb db = new RawDb(file)) {
            old = new Saved(db.blob("SELECT name FROM variable WHERE version = (SELECT min(version) FROM variable)"),
                    db.blob("SELECT meta FROM variable WHERE version = (SELECT min(version) FROM variable)"),
                    db.blob("SELECT value FROM variable WHERE version = (SELECT min(version) FROM variable)"),
                    db.number("SELECT min(version) FROM variable"));
        }
        long id;
        try (VaultSession s = TestVaults.unlock(file)) {
            id = s.rowIdOf("prod", "API_KEY");
            s.put("prod", "API_KEY", value("new-value"), null);
            try (ResolvedValues v = s.resolve("prod", List.of("API_KEY"))) {
                assertEquals("new-value", reveal(v, "API_KEY"));   // control
            }
        }
        try (RawDb db = new RawDb(file)) {
            assertEquals(1, db.update("UPDATE variable SET name = ?, meta = ?, value = ?, version = ? WHERE id = ?",
                    old.name(), old.second(), old.third(), old.version(), id));
        }
        VaultIntegrityException e = integrityError(file, s -> s.resolve("prod", List.of("API_KEY")));
        assertTrue(e.getMessage().contains("a variable row is not at the version the sealed vault state records"),
                e.getMessage());
        assertFalse(e.getMessage().contains("canary-old-value-7f3a"), e.getMessage());
    }

    @Test
    void deletedRowReInserted_isRefused() throws Exception {
        Map<String, Object> row = new java.util.LinkedHashMap<>();
        long id;
        try (VaultSession s = TestVaults.unlock(file)) {
            id = s.rowIdOf("prod", "API_KEY");
        }
        try (RawDb db = new RawDb(file)) {
            for (String c : List.of("environment_id", "name_index", "name", "meta", "value", "version")) {
                row.put(c, c.equals("environment_id") || c.equals("version")
                        ? (Object) db.number("SELECT " + c + " FROM variable WHERE id = ?", id)
                        : db.blob("SELECT " + c + " FROM variable WHERE id = ?", id));
            }
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            s.delete("prod", "API_KEY");
            assertThrows(NotFoundException.class, () -> s.resolve("prod", List.of("API_KEY")));   // control
        }
        try (RawDb db = new RawDb(file)) {
            db.update("INSERT INTO variable(id, environment_id, name_index, name, meta, value, version)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?)", id, row.get("environment_id"), row.get("name_index"),
                    row.get("name"), row.get("meta"), row.get("value"), row.get("version"));
        }
        VaultIntegrityException e = integrityError(file, s -> s.resolve("prod", List.of("API_KEY")));
        assertTrue(e.getMessage().contains("1 variable row is in the file that the sealed vault state does not"
                + " record: a deleted row was put back"), e.getMessage());
    }

    @Test
    void rowDeletedBehindTheVault_isRefused() throws Exception {
        try (RawDb db = new RawDb(file)) {
            db.update("DELETE FROM variable WHERE rowid = (SELECT min(rowid) FROM variable)");
        }
        VaultIntegrityException e = integrityError(file, s -> s.listVariables("prod"));
        assertTrue(e.getMessage().contains("1 variable row is missing from the file although the sealed vault"
                + " state records them"), e.getMessage());
    }

    @Test
    void droppedTables_areRefused() throws Exception {
        try (RawDb db = new RawDb(file)) {
            db.update("DROP TABLE variable");
        }
        VaultIntegrityException e = integrityError(file, s -> s.listEnvironments());
        assertTrue(e.getMessage().contains("the variable table of ") && e.getMessage().contains(
                " is missing (it was dropped); the vault file was modified"), e.getMessage());
    }

    @Test
    void wholeVaultEmptied_isRefused() throws Exception {
        try (RawDb db = new RawDb(file)) {
            db.update("DELETE FROM variable");
            db.update("DELETE FROM environment");
        }
        VaultIntegrityException e = integrityError(file, s -> s.listEnvironments());
        assertTrue(e.getMessage().contains("1 environment row is missing"), e.getMessage());
    }

    // ------------------------------------------------------------ the state and the audit head

    @Test
    void stateMissing_orFromAnotherVault_isRefused() throws Exception {
        Path other = TestVaults.create(tmp.resolve("other"));
        byte[] foreign;
        try (RawDb db = new RawDb(other)) {
            foreign = db.blob("SELECT value FROM meta WHERE key = 'vault_state'");
        }
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE meta SET value = ? WHERE key = 'vault_state'", foreign);
        }
        assertTrue(integrityError(file, s -> s.listEnvironments()).getMessage()
                .contains("the sealed vault state of " + file + " is damaged (it does not decrypt)"));
        try (RawDb db = new RawDb(file)) {
            db.update("DELETE FROM meta WHERE key = 'vault_state'");
        }
        assertTrue(integrityError(file, s -> s.listEnvironments()).getMessage()
                .contains("the sealed vault state of " + file + " is missing"));
    }

    @Test
    void oldStatePutBack_underNewerRows_isRefused() throws Exception {
        byte[] oldState;
        try (RawDb db = new RawDb(file)) {
            oldState = db.blob("SELECT value FROM meta WHERE key = 'vault_state'");
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            s.put("prod", "API_KEY", value("newer"), null);
        }
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE meta SET value = ? WHERE key = 'vault_state'", oldState);
        }
        VaultIntegrityException e = integrityError(file, s -> s.listEnvironments());
        assertTrue(e.getMessage().contains("is older than its rows"), e.getMessage());
    }

    /** Entries cut off the end and an old head put back: the chain is consistent, the state is not. */
    @Test
    void auditLogCutBackToAnOldHead_isRefusedForWrites_andReportedByVerify() throws Exception {
        byte[] oldHead;
        try (VaultSession s = TestVaults.unlock(file)) {
            s.audit(AuditEvent.UNLOCKED, null, Map.of());
        }
        try (RawDb db = new RawDb(file)) {
            oldHead = db.blob("SELECT value FROM meta WHERE key = 'audit_head'");
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            s.audit(AuditEvent.RUN_REQUESTED, "prod", Map.of());
            assertTrue(s.verifyAudit().isIntact());   // control
        }
        try (RawDb db = new RawDb(file)) {
            db.update("DELETE FROM audit WHERE seq > 1");
            db.update("UPDATE meta SET value = ? WHERE key = 'audit_head'", oldHead);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            assertTrue(s.verifyAudit().problem().contains("the audit head of " + file + " does not match the"
                    + " sealed vault state (the head says entry 1, the state says 2)"), s.verifyAudit().problem());
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> s.put("prod", "NEW", value("x"), null));
            assertTrue(e.getMessage().contains("an old head was put back or the log was cut"), e.getMessage());
            // reads still show what the vault holds
            assertEquals(2, s.listVariables("prod").items().size());
        }
    }

    @Test
    void everyWrite_advancesTheCounter_byOne() throws Exception {
        try (VaultSession s = TestVaults.unlock(file)) {
            long before = s.stateCounter();
            s.put("prod", "X", value("x"), null);
            s.audit(AuditEvent.UNLOCKED, null, Map.of());
            s.delete("prod", "X");
            assertEquals(before + 3, s.stateCounter());
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            assertTrue(s.verifyAudit().isIntact());
            assertEquals(2, s.listVariables("prod").items().size());
        }
    }

    /**
     * The daemon asks for the counter before and after every use (its rollback check): another
     * connection's commit shows at once. (A shortcut that reads {@code PRAGMA data_version} outside
     * a transaction, tried on 2026-12-03, returned the old value here and failed this test.)
     */
    @Test
    void stateCounter_showsAnotherSessionsCommit_atOnce() throws Exception {
        try (VaultSession daemon = TestVaults.unlock(file); VaultSession cli = TestVaults.unlock(file)) {
            long before = daemon.stateCounter();
            assertEquals(before, daemon.stateCounter());
            cli.put("prod", "THIRD", value("3"), null);
            assertEquals(before + 1, daemon.stateCounter());
            daemon.put("prod", "FOURTH", value("4"), null);
            assertEquals(before + 2, daemon.stateCounter());
            assertEquals(before + 2, cli.stateCounter());
        }
    }

    /** Another connection's legitimate writes are re-verified and accepted, not mistaken for tampering. */
    @Test
    void writesByAnotherSession_areAccepted() throws Exception {
        try (VaultSession daemon = TestVaults.unlock(file); VaultSession cli = TestVaults.unlock(file)) {
            assertEquals(2, daemon.listVariables("prod").items().size());
            cli.put("prod", "THIRD", value("3"), null);
            cli.deleteEnvironment("prod");
            cli.createEnvironment("prod", Policy.PROMPT);
            assertEquals(Policy.PROMPT, daemon.environment("prod").policy());
            assertEquals(0, daemon.listVariables("prod").items().size());
            daemon.put("prod", "A", value("a"), null);
            assertEquals(1, cli.listVariables("prod").items().size());
        }
    }
}

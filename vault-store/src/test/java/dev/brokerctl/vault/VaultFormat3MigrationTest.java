package dev.brokerctl.vault;

import static dev.brokerctl.vault.TestVaults.reveal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.audit.AuditVerification;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Format 2 to 3 on a file made by the format 2 code and committed (fixtures/format2-vault.db, see
 * its README): everything it held reads back, the audit log is intact, every row is at version
 * 1 under the sealed state, and the header cannot be edited back to 2.
 */
class VaultFormat3MigrationTest {

    @TempDir
    Path tmp;
    Path file;

    @BeforeEach
    void copyFixture() throws Exception {
        Path home = tmp.resolve("home");
        Files.createDirectories(home, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        file = home.resolve("vault.db");
        try (InputStream in = getClass().getResourceAsStream("fixtures/format2-vault.db")) {
            Files.copy(in, file);
        }
    }

    private String raw(String sql) throws Exception {
        try (RawDb db = new RawDb(file)) {
            return new String(db.blob(sql));
        }
    }

    @Test
    void fixtureIsFormat2_withoutVersionsOrState() throws Exception {
        assertEquals("2", raw("SELECT value FROM meta WHERE key = 'format_version'"));
        try (RawDb db = new RawDb(file)) {
            assertEquals(0, db.number("SELECT count(*) FROM meta WHERE key = 'vault_state'"));
            assertEquals(0, db.number("SELECT count(*) FROM pragma_table_info('variable') WHERE name = 'version'"));
        }
    }

    @Test
    void firstUnlock_migrates_andEverythingReadsBack() throws Exception {
        try (VaultSession s = TestVaults.unlock(file)) {
            assertEquals(List.of("dev", "prod"), s.listEnvironments().items().stream().map(EnvironmentInfo::name).toList());
            assertEquals(Policy.AUTO, s.environment("dev").policy());
            EnvironmentInfo prod = s.environment("prod");
            assertEquals(Policy.PROMPT, prod.policy());
            assertEquals(Duration.ofMinutes(30), prod.maxGrant());
            try (ResolvedValues v = s.resolve("dev", null)) {
                assertEquals("fixture-dev-api-key", reveal(v, "API_KEY"));
                assertEquals("postgres://fixture/dev", reveal(v, "DB_URL"));
            }
            try (ResolvedValues v = s.resolve("prod", List.of("API_KEY"))) {
                assertEquals("fixture-prod-api-key", reveal(v, "API_KEY"));
            }
            assertEquals("the prod key", s.listVariables("prod").items().get(0).description());
            assertEquals(AuditVerification.intact(2), s.verifyAudit());
            assertEquals(1, s.stateCounter());
        }
        assertEquals(String.valueOf(Vault.FORMAT_VERSION), raw("SELECT value FROM meta WHERE key = 'format_version'"));
        try (RawDb db = new RawDb(file)) {
            assertEquals(0, db.number("SELECT count(*) FROM variable WHERE version <> 1"));
            assertEquals(0, db.number("SELECT count(*) FROM environment WHERE version <> 1"));
        }
        // and it stays good across unlocks and writes
        try (VaultSession s = TestVaults.unlock(file)) {
            s.setPolicy("dev", Policy.PROMPT);
            assertEquals(2, s.stateCounter());
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            assertEquals(Policy.PROMPT, s.environment("dev").policy());
            assertEquals(AuditVerification.intact(2), s.verifyAudit());
        }
    }

    @Test
    void migratedVault_editedBackToFormat2_isRefused() throws Exception {
        TestVaults.unlock(file).close();
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE meta SET value = ? WHERE key = 'format_version'", "2".getBytes());
        }
        try (Vault v = Vault.open(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class, () -> v.unlock(TestVaults.pass()));
            assertTrue(e.getMessage().contains("the header says 2, the keyslot was written for 3"), e.getMessage());
        }
    }

    @Test
    void wrongPassphrase_leavesTheFixtureAtFormat2() throws Exception {
        try (Vault v = Vault.open(file)) {
            assertThrows(WrongPassphraseException.class, () -> v.unlock("not the passphrase".toCharArray()));
        }
        assertEquals("2", raw("SELECT value FROM meta WHERE key = 'format_version'"));
    }

    /** A damaged row stops the migration whole: the file stays format 2, nothing half-done. */
    @Test
    void damagedRow_stopsTheMigration_atomically() throws Exception {
        try (RawDb db = new RawDb(file)) {
            db.flipBit("variable", "value", db.number("SELECT min(rowid) FROM variable"), 20);
        }
        try (Vault v = Vault.open(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class, () -> v.unlock(TestVaults.pass()));
            assertTrue(e.getMessage().contains("failed its integrity check, so the vault cannot be upgraded to format 3"),
                    e.getMessage());
        }
        assertEquals("2", raw("SELECT value FROM meta WHERE key = 'format_version'"));
        try (RawDb db = new RawDb(file)) {
            assertEquals(0, db.number("SELECT count(*) FROM pragma_table_info('variable') WHERE name = 'version'"));
        }
    }
}

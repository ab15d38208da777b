package dev.brokerctl.vault;

import static dev.brokerctl.vault.TestVaults.reveal;
import static dev.brokerctl.vault.TestVaults.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEntry;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import dev.brokerctl.vault.audit.AuditVerification;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code passwd --rekey}: a new vault key, every item re-sealed in one transaction, the old
 * keyslot gone, and after the checkpoint no old wrapped key in vault.db, -wal or -shm, even with a
 * second connection (the daemon's) holding the file open. Plain {@code passwd} checkpoints too.
 */
class VaultRekeyTest {

    static final char[] NEW = "a brand new passphrase".toCharArray();

    @TempDir
    Path tmp;
    Path file;

    @BeforeEach
    void create() throws Exception {
        file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("prod", Policy.PROMPT);
            s.put("prod", "API_KEY", value("rekey-canary-value"), "the key");
            s.createEnvironment("dev", Policy.AUTO);
            s.put("dev", "DB", value("db-value"), null);
            s.audit(AuditEvent.UNLOCKED, null, Map.of());
        }
    }

    private byte[] wrappedKey() throws Exception {
        try (RawDb db = new RawDb(file)) {
            return db.blob("SELECT wrapped_key FROM keyslot");
        }
    }

    /** Every vault.db* file, searched for {@code needle}. */
    private List<Path> filesHolding(byte[] needle) throws Exception {
        try (Stream<Path> files = Files.list(file.getParent())) {
            return files.filter(p -> p.getFileName().toString().startsWith("vault.db")).filter(p -> {
                try {
                    return indexOf(Files.readAllBytes(p), needle) >= 0;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void rekey_resealsEverything_andLeavesNoOldWrappedKey_withAnotherConnectionOpen() throws Exception {
        byte[] oldSlot = wrappedKey();
        byte[] oldValueCell;
        try (RawDb db = new RawDb(file)) {
            oldValueCell = db.blob("SELECT value FROM variable WHERE rowid = (SELECT min(rowid) FROM variable)");
        }
        try (VaultSession daemon = TestVaults.unlock(file); VaultSession s = TestVaults.unlock(file)) {
            daemon.listEnvironments();   // holds the file (and its WAL) open, as a running daemon does
            assertEquals(List.of(file), filesHolding(oldSlot).stream().filter(p -> p.equals(file)).toList());  // control
            int count = s.rekey(NEW, TestVaults.LIGHT, AuditRecord.of(AuditEvent.VAULT_REKEYED, null,
                    AuditDetails.of(AuditDetails.SOURCE, "test")));
            assertEquals(2 + 2 + 1, count);
            assertTrue(s.checkpoint(), "the checkpoint emptied the log");
            assertEquals(List.of(), filesHolding(oldSlot), "the old wrapped key is still in the files");
            assertEquals(List.of(), filesHolding(oldValueCell), "an old ciphertext is still in the files");
            // the session goes on under the new key
            try (ResolvedValues v = s.resolve("prod", List.of("API_KEY"))) {
                assertEquals("rekey-canary-value", reveal(v, "API_KEY"));
            }
        }
        try (Vault v = Vault.open(file)) {
            assertThrows(WrongPassphraseException.class, () -> v.unlock(TestVaults.pass()));
        }
        try (VaultSession s = Vault.open(file).unlock(NEW.clone())) {
            assertEquals(Policy.PROMPT, s.environment("prod").policy());
            assertEquals("the key", s.listVariables("prod").items().get(0).description());
            try (ResolvedValues v = s.resolve("dev", null)) {
                assertEquals("db-value", reveal(v, "DB"));
            }
            assertEquals(AuditVerification.intact(2), s.verifyAudit());
            List<AuditEntry> entries = s.auditEntries(null, null);
            assertEquals(AuditEvent.VAULT_REKEYED, entries.get(1).type());
            assertFalse(entries.get(0).isDamaged());
        }
    }

    /** The old keyslot saved and put back opens to the old key, which decrypts nothing any more. */
    @Test
    void oldKeyslotPutBack_opensNothing() throws Exception {
        byte[] slot;
        byte[] checksum;
        try (RawDb db = new RawDb(file)) {
            slot = db.blob("SELECT wrapped_key FROM keyslot");
            checksum = db.blob("SELECT checksum FROM keyslot");
        }
        byte[] salt;
        try (RawDb db = new RawDb(file)) {
            salt = db.blob("SELECT salt FROM keyslot");
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            s.rekey(NEW, TestVaults.LIGHT, null);
        }
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE keyslot SET wrapped_key = ?, checksum = ?, salt = ?", slot, checksum, salt);
        }
        try (VaultSession s = TestVaults.unlock(file)) {   // the old passphrase opens the old slot...
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class, s::listEnvironments);
            assertTrue(e.getMessage().contains("the sealed vault state of " + file + " is damaged"), e.getMessage());
            assertThrows(VaultIntegrityException.class, () -> s.resolve("prod", null));   // ...to no value
        }
    }

    @Test
    void plainPassphraseChange_checkpoints_soTheOldSlotIsNotInTheWal() throws Exception {
        byte[] oldSlot = wrappedKey();
        try (VaultSession daemon = TestVaults.unlock(file); VaultSession s = TestVaults.unlock(file)) {
            daemon.listEnvironments();
            s.changePassphrase(NEW, TestVaults.LIGHT, null);
            assertTrue(s.checkpoint());
            assertEquals(List.of(), filesHolding(oldSlot));
            try (ResolvedValues v = daemon.resolve("prod", List.of("API_KEY"))) {   // the key is the same
                assertEquals("rekey-canary-value", reveal(v, "API_KEY"));
            }
        }
    }

    @Test
    void rekeyOfADamagedVault_changesNothing() throws Exception {
        byte[] oldSlot = wrappedKey();
        try (RawDb db = new RawDb(file)) {
            db.flipBit("variable", "value", db.number("SELECT min(rowid) FROM variable"), 20);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class, () -> s.rekey(NEW, TestVaults.LIGHT, null));
            assertTrue(e.getMessage().contains("so the vault key cannot be replaced; nothing was changed"), e.getMessage());
            assertEquals(2, s.listEnvironments().items().size());   // the session still works, under the old key
        }
        assertEquals(java.util.HexFormat.of().formatHex(oldSlot), java.util.HexFormat.of().formatHex(wrappedKey()));
    }
}

package dev.brokerctl.vault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditVerification;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Format 1 vaults (made before the audit genesis) exist on users' machines: the first unlock
 * upgrades them to format 2, and from then on a wiped audit log is damage, not an old vault.
 */
class VaultUpgradeTest {

    @TempDir
    Path tmp;
    Path file;

    @BeforeEach
    void create() throws Exception {
        file = TestVaults.create(tmp);
    }

    private static String formatVersion(Path file) throws Exception {
        try (RawDb db = new RawDb(file)) {
            return new String(db.blob("SELECT value FROM meta WHERE key = 'format_version'"));
        }
    }

    @Test
    void newVault_hasTheAuditGenesis_andFormat2() throws Exception {
        assertEquals(String.valueOf(Vault.FORMAT_VERSION), formatVersion(file));
        try (RawDb db = new RawDb(file)) {
            assertEquals(1, db.number("SELECT count(*) FROM sqlite_master WHERE name = 'audit'"));
            assertEquals(1, db.number("SELECT count(*) FROM meta WHERE key = 'audit_head'"));
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            assertEquals(AuditVerification.intact(0), s.verifyAudit());
        }
    }

    @Test
    void format1VaultNeverAudited_isUpgradedAtFirstUnlock_withAGenesis() throws Exception {
        Keyslots.makeFormat1(file, false);
        try (VaultSession s = TestVaults.unlock(file)) {
            assertEquals(AuditVerification.intact(0), s.verifyAudit());
            s.audit(AuditEvent.UNLOCKED, null, Map.of());
        }
        assertEquals(String.valueOf(Vault.FORMAT_VERSION), formatVersion(file));
        try (VaultSession s = TestVaults.unlock(file)) {
            assertEquals(AuditVerification.intact(1), s.verifyAudit());
        }
    }

    @Test
    void format1VaultWithAnAuditLog_keepsItsEntries() throws Exception {
        try (VaultSession s = TestVaults.unlock(file)) {
            s.audit(AuditEvent.UNLOCKED, null, Map.of());
            s.audit(AuditEvent.LOCKED, null, Map.of());
        }
        Keyslots.makeFormat1(file, true);
        try (VaultSession s = TestVaults.unlock(file)) {
            assertEquals(AuditVerification.intact(2), s.verifyAudit());
        }
        assertEquals(String.valueOf(Vault.FORMAT_VERSION), formatVersion(file));
    }

    @Test
    void upgradedVault_whoseAuditLogIsWiped_isDamage_notReCreated() throws Exception {
        Keyslots.makeFormat1(file, false);
        TestVaults.unlock(file).close();
        try (RawDb db = new RawDb(file)) {
            db.update("DROP TABLE audit");
            db.update("DELETE FROM meta WHERE key = 'audit_head'");
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            assertEquals("the audit table is missing (it was dropped)", s.verifyAudit().problem());
            assertThrows(VaultIntegrityException.class, () -> s.audit(AuditEvent.LOCKED, null, Map.of()));
        }
        try (RawDb db = new RawDb(file)) {
            assertEquals(0, db.number("SELECT count(*) FROM sqlite_master WHERE name = 'audit'"));
        }
    }

    /** The way back to "created the log on first use" is closed: the keyslot's AAD pins format 2. */
    @Test
    void formatVersionEditedBackTo1_withTheLogWiped_isAnIntegrityError() throws Exception {
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE meta SET value = ? WHERE key = 'format_version'", "1".getBytes());
            db.update("DROP TABLE audit");
            db.update("DELETE FROM meta WHERE key = 'audit_head'");
        }
        try (Vault v = Vault.open(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> v.unlock(TestVaults.pass()));
            assertTrue(e.getMessage().contains("was changed: the header says 1, the keyslot was written"
                    + " for " + Vault.FORMAT_VERSION + "; the file was modified"), e.getMessage());
        }
        try (RawDb db = new RawDb(file)) {
            assertEquals(0, db.number("SELECT count(*) FROM sqlite_master WHERE name = 'audit'"));
        }
    }

    @Test
    void format1VaultEditedToSay2_isAnIntegrityError() throws Exception {
        Keyslots.makeFormat1(file, true);
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE meta SET value = ? WHERE key = 'format_version'", "2".getBytes());
        }
        try (Vault v = Vault.open(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> v.unlock(TestVaults.pass()));
            assertTrue(e.getMessage().contains("the header says 2, the keyslot was written for 1"),
                    e.getMessage());
        }
    }

    @Test
    void format1Vault_wrongPassphrase_isStillAWrongPassphrase() throws Exception {
        Keyslots.makeFormat1(file, false);
        try (Vault v = Vault.open(file)) {
            assertThrows(WrongPassphraseException.class, () -> v.unlock("not the passphrase".toCharArray()));
        }
        assertEquals("1", formatVersion(file));
    }
}

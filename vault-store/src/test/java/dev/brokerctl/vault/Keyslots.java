package dev.brokerctl.vault;

import dev.brokerctl.vault.crypto.AesGcm;
import dev.brokerctl.vault.crypto.Argon2id;
import dev.brokerctl.vault.crypto.KdfParams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.SQLException;

/** Keyslot edits an attacker (or an old brokerctl) could make, for the tamper and upgrade tests. */
final class Keyslots {

    private Keyslots() {
    }

    private static Vault.Keyslot read(RawDb db) throws SQLException {
        return new Vault.Keyslot(1, "argon2id", new KdfParams(
                (int) db.number("SELECT memory_kib FROM keyslot"), (int) db.number("SELECT iterations FROM keyslot"),
                (int) db.number("SELECT parallelism FROM keyslot")),
                db.blob("SELECT salt FROM keyslot"), db.blob("SELECT wrapped_key FROM keyslot"), new byte[0]);
    }

    /** What anyone can do without a key: the checksum is unkeyed SHA-256. */
    static void recomputeChecksum(RawDb db) throws SQLException {
        byte[] vaultId = db.blob("SELECT value FROM meta WHERE key = 'vault_id'");
        db.update("UPDATE keyslot SET checksum = ?", read(db).computeChecksum(vaultId));
    }

    /**
     * Turns a vault of the current format into what brokerctl made before the audit genesis: format 1, the
     * keyslot wrapped without the format in its AAD, and (unless {@code keepAuditLog}) no audit
     * table and no head, as a vault that was never audited.
     */
    static void makeFormat1(Path file, boolean keepAuditLog) throws Exception {
        try (RawDb db = new RawDb(file)) {
            byte[] vaultId = db.blob("SELECT value FROM meta WHERE key = 'vault_id'");
            Vault.Keyslot slot = read(db);
            byte[] kek = Argon2id.derive(TestVaults.PASSPHRASE.getBytes(StandardCharsets.UTF_8), slot.salt(),
                    slot.params(), AesGcm.KEY_BYTES);
            byte[] dek = AesGcm.open(kek, slot.wrappedKey(), aad(vaultId, slot, "|format=" + Vault.FORMAT_VERSION));
            byte[] wrapped = AesGcm.seal(kek, dek, aad(vaultId, slot, ""), new SecureRandom());
            db.update("UPDATE keyslot SET wrapped_key = ?", wrapped);
            recomputeChecksum(db);
            db.update("UPDATE meta SET value = ? WHERE key = 'format_version'", "1".getBytes(StandardCharsets.US_ASCII));
            if (!keepAuditLog) {
                db.update("DROP TABLE audit");
                db.update("DELETE FROM meta WHERE key = 'audit_head'");
            }
        }
    }

    private static byte[] aad(byte[] vaultId, Vault.Keyslot slot, String suffix) {
        return Aad.of(vaultId, 0, 1, Aad.Field.KEYSLOT_KEY,
                (slot.describe() + suffix).getBytes(StandardCharsets.US_ASCII));
    }
}

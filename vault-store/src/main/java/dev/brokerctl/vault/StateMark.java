package dev.brokerctl.vault;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.OptionalLong;

/**
 * The high-water mark of a vault's state counter, kept beside the vault file ({@code
 * vault.db.mark}, 0600): a rollback of the whole file (every row and the sealed state together,
 * from a copy) cannot be seen from inside it, so the daemon remembers the highest counter it
 * has seen and refuses a vault that is behind it.
 *
 * <pre>
 * mark = "brokerctl-mark1" | vault id(16) | counter(8) | HMAC-SHA256(mark key, vault id | counter)
 * </pre>
 *
 * The mark key comes from the vault key: a mark cannot be forged or raised without it. An old mark
 * can be put back with an old vault while no daemon runs: that is the limit (see
 * docs/threat-model.md); a running daemon keeps the highest counter in memory as well.
 */
public final class StateMark {

    private static final byte[] MAGIC = "brokerctl-mark1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final int BYTES = MAGIC.length + Vault.VAULT_ID_BYTES + 8 + 32;

    private StateMark() {
    }

    /** Where the mark of the vault at {@code vaultFile} lives. */
    public static Path pathFor(Path vaultFile) {
        return vaultFile.resolveSibling(vaultFile.getFileName() + ".mark");
    }

    /**
     * The counter recorded for {@code session}'s vault, or empty when there is no mark, or the
     * mark is another vault's (a vault made anew at the same path).
     *
     * @throws VaultIntegrityException when the mark is this vault's but its MAC does not verify
     */
    public static OptionalLong read(Path markFile, VaultSession session) throws VaultException {
        byte[] raw;
        try {
            raw = Files.readAllBytes(markFile);
        } catch (NoSuchFileException e) {
            return OptionalLong.empty();
        } catch (IOException e) {
            throw new VaultException("cannot read the rollback mark " + markFile + ": " + e.getMessage());
        }
        if (raw.length != BYTES || !Arrays.equals(raw, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw damaged(markFile);
        }
        byte[] id = Arrays.copyOfRange(raw, MAGIC.length, MAGIC.length + Vault.VAULT_ID_BYTES);
        if (!session.hasVaultId(id)) {
            return OptionalLong.empty();
        }
        long counter = ByteBuffer.wrap(raw, MAGIC.length + Vault.VAULT_ID_BYTES, 8).getLong();
        byte[] mac = Arrays.copyOfRange(raw, BYTES - 32, BYTES);
        if (!MessageDigest.isEqual(mac, session.markMac(counter))) {
            throw damaged(markFile);
        }
        return OptionalLong.of(counter);
    }

    /** Records {@code counter} for {@code session}'s vault: written beside, 0600, then renamed over. */
    public static void write(Path markFile, VaultSession session, long counter) throws VaultException {
        write(markFile, encode(session, counter));
    }

    /** The mark's bytes for {@code counter} (needs the session's key; writing them does not). */
    public static byte[] encode(VaultSession session, long counter) {
        return ByteBuffer.allocate(BYTES).put(MAGIC).put(session.vaultIdCopy()).putLong(counter)
                .put(session.markMac(counter)).array();
    }

    /** Writes bytes from {@link #encode}: beside, 0600, then renamed over. */
    public static void write(Path markFile, byte[] raw) throws VaultException {
        Path tmp = markFile.resolveSibling(markFile.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(tmp, raw);
            try {
                Files.move(tmp, markFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, markFile, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new VaultException("cannot write the rollback mark " + markFile + ": " + e.getMessage());
        }
    }

    private static VaultIntegrityException damaged(Path markFile) {
        return new VaultIntegrityException("the rollback mark " + markFile + " was modified or is damaged"
                + " (it does not verify under this vault's key). If you know why, accept the vault as it is"
                + " with: brokerctl doctor --accept-rollback (it needs the passphrase and is recorded in the"
                + " audit log)");
    }

    /** For logs: the first bytes of the vault id a mark names. */
    static String shortId(byte[] id) {
        return HexFormat.of().formatHex(id, 0, 4);
    }
}

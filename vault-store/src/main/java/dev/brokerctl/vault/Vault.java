package dev.brokerctl.vault;

import dev.brokerctl.vault.crypto.AesGcm;
import dev.brokerctl.vault.crypto.Argon2id;
import dev.brokerctl.vault.crypto.KdfParams;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;

/**
 * A vault file, locked. {@link #create} makes a new one, {@link #open} reads its header and
 * keyslot without any key; {@link #unlock} proves the passphrase and returns a
 * {@link VaultSession} that holds the keys.
 *
 * <p>Format (DESIGN.md): a random 256-bit vault key (DEK), wrapped with AES-256-GCM under a key
 * derived from the passphrase by Argon2id. The keyslot carries a SHA-256 checksum so that a
 * corrupted slot is reported as such and not as a wrong passphrase.
 */
public final class Vault implements AutoCloseable {

    /** The format this build writes and reads. */
    public static final int FORMAT_VERSION = 1;

    static final int VAULT_ID_BYTES = 16;
    private static final int SALT_BYTES = 16;
    private static final long KEYSLOT_ID = 1;

    private final Path path;
    private final Connection connection;
    private final byte[] vaultId;
    private final Keyslot keyslot;
    private final Clock clock;
    private final SecureRandom random;
    private boolean handedOver;

    private Vault(Path path, Connection connection, byte[] vaultId, Keyslot keyslot, Clock clock,
            SecureRandom random) {
        this.path = path;
        this.connection = connection;
        this.vaultId = vaultId;
        this.keyslot = keyslot;
        this.clock = clock;
        this.random = random;
    }

    /** A keyslot row as read from the file; untrusted until its checksum and tag verify. */
    record Keyslot(long id, String kdf, KdfParams params, byte[] salt, byte[] wrappedKey,
            byte[] checksum) {

        byte[] computeChecksum(byte[] vaultId) {
            try {
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                sha.update(vaultId);
                sha.update(describe().getBytes(StandardCharsets.US_ASCII));
                sha.update(salt);
                sha.update(wrappedKey);
                return sha.digest();
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        /** The non-secret parameters, also bound into the wrap's AAD. */
        String describe() {
            return id + "|" + kdf + "|m=" + params.memoryKib() + "|t=" + params.iterations()
                    + "|p=" + params.parallelism();
        }

        @Override
        public String toString() {
            return "Keyslot[" + describe() + "]";
        }
    }

    /** Creates a new vault file at {@code path}, its directory 0700 and the file 0600. */
    public static void create(Path path, char[] passphrase, KdfParams params) throws VaultException {
        create(path, passphrase, params, new SecureRandom());
    }

    static void create(Path path, char[] passphrase, KdfParams params, SecureRandom random)
            throws VaultException {
        Passphrases.checkNew(passphrase);
        params.checkWithinCaps();
        Path file = path.toAbsolutePath();
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new ConflictException("a vault already exists at " + file
                    + "; to start over, move it away first");
        }
        try {
            Path dir = file.getParent();
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            // Created here, 0600, before SQLite opens it; SQLite gives -wal and -shm the same mode.
            Files.createFile(file, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            throw new ConflictException("a vault already exists at " + file
                    + "; to start over, move it away first");
        } catch (IOException e) {
            throw new VaultException("cannot create the vault file " + file + ": " + e.getMessage());
        }

        byte[] vaultId = new byte[VAULT_ID_BYTES];
        random.nextBytes(vaultId);
        byte[] dek = new byte[AesGcm.KEY_BYTES];
        random.nextBytes(dek);
        try (Connection c = Sqlite.open(file)) {
            Keyslot slot = wrap(vaultId, KEYSLOT_ID, dek, passphrase, params, random);
            Sqlite.inWriteTransaction(c, file, () -> {
                try (Statement s = c.createStatement()) {
                    for (String ddl : Schema.V1) {
                        s.execute(ddl);
                    }
                }
                try (PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO meta(key, value) VALUES (?, ?)")) {
                    ps.setString(1, "format_version");
                    ps.setBytes(2, Integer.toString(FORMAT_VERSION).getBytes(StandardCharsets.US_ASCII));
                    ps.executeUpdate();
                    ps.setString(1, "vault_id");
                    ps.setBytes(2, vaultId);
                    ps.executeUpdate();
                }
                writeKeyslot(c, slot);
                return null;
            });
        } catch (SQLException e) {
            throw Sqlite.translate(e, file);
        } finally {
            Arrays.fill(dek, (byte) 0);
        }
    }

    /** Opens an existing vault, locked. */
    public static Vault open(Path path) throws VaultException {
        return open(path, Clock.systemUTC(), new SecureRandom());
    }

    static Vault open(Path path, Clock clock, SecureRandom random) throws VaultException {
        Path file = path.toAbsolutePath();
        if (!Files.isRegularFile(file)) {
            throw new NotFoundException("no vault at " + file + "; create one with: brokerctl init");
        }
        Connection c = Sqlite.open(file);
        try {
            int version = readFormatVersion(c, file);
            if (version > FORMAT_VERSION) {
                throw new VaultFormatException("the vault at " + file + " has format version "
                        + version + ", newer than this brokerctl reads (" + FORMAT_VERSION
                        + "); upgrade brokerctl");
            }
            if (version != FORMAT_VERSION) {
                throw new VaultFormatException("the vault at " + file + " has unknown format version "
                        + version + "; the file was modified or is corrupted");
            }
            byte[] vaultId = readMeta(c, "vault_id");
            if (vaultId == null || vaultId.length != VAULT_ID_BYTES) {
                throw new VaultIntegrityException("the vault header of " + file
                        + " is damaged (vault id); restore the file from a backup");
            }
            Keyslot slot = readKeyslot(c, file);
            return new Vault(file, c, vaultId, slot, clock, random);
        } catch (SQLException e) {
            closeQuietly(c);
            throw Sqlite.translate(e, file);
        } catch (VaultException | RuntimeException e) {
            closeQuietly(c);
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** The KDF parameters of the keyslot (for display and for tuning). */
    public KdfParams kdfParams() {
        return keyslot.params();
    }

    /**
     * Proves the passphrase and returns an unlocked session that owns this handle's connection.
     * This {@code Vault} must not be used afterwards except to close it.
     *
     * @throws WrongPassphraseException when the passphrase is wrong
     * @throws VaultIntegrityException when the keyslot is damaged; checked before any KDF work
     */
    public VaultSession unlock(char[] passphrase) throws VaultException {
        if (handedOver) {
            throw new IllegalStateException("this vault handle was already unlocked");
        }
        byte[] dek;
        try {
            dek = unwrap(keyslot, passphrase);
        } catch (VaultException | RuntimeException e) {
            close();   // a failed unlock keeps no file descriptor open
            throw e;
        }
        handedOver = true;
        return new VaultSession(path, connection, vaultId, dek, clock, random);
    }

    /**
     * Proves that {@code passphrase} opens this file's keyslot <em>and</em> that the key inside is
     * the one {@code held} was unlocked with. Only the key in memory is trusted: a file someone
     * put at the path (their own vault, made with their own passphrase) opens to another key and
     * is refused. Closes this handle.
     *
     * @throws WrongPassphraseException when the passphrase does not open this file's keyslot
     * @throws VaultIntegrityException when it does, but to a key other than the held one
     */
    public void proveKeyOf(VaultSession held, char[] passphrase) throws VaultException {
        try {
            byte[] dek = unwrap(keyslot, passphrase);
            try {
                if (!held.isKey(vaultId, dek)) {
                    throw new VaultIntegrityException("the passphrase opens the vault file now at " + path
                            + ", but that is not the vault this daemon unlocked (the file was replaced or"
                            + " moved); no approver rights are given. Put the original vault back, or stop"
                            + " the daemon and start it again");
                }
            } finally {
                Arrays.fill(dek, (byte) 0);
            }
        } finally {
            close();
        }
    }

    private byte[] unwrap(Keyslot slot, char[] passphrase) throws VaultException {
        try {
            slot.params().checkWithinCaps();
        } catch (IllegalArgumentException e) {
            throw new VaultIntegrityException("keyslot " + slot.id() + " of " + path + " is refused: "
                    + e.getMessage() + "; the file was modified or is corrupted");
        }
        if (!MessageDigest.isEqual(slot.checksum(), slot.computeChecksum(vaultId))) {
            throw new VaultIntegrityException("keyslot " + slot.id() + " of " + path
                    + " failed its checksum; the file was modified or is corrupted."
                    + " Restore it from a backup");
        }
        byte[] password = Passphrases.utf8(passphrase);
        byte[] kek = Argon2id.derive(password, slot.salt(), slot.params(), AesGcm.KEY_BYTES);
        Arrays.fill(password, (byte) 0);
        try {
            return AesGcm.open(kek, slot.wrappedKey(), keyslotAad(vaultId, slot));
        } catch (AEADBadTagException e) {
            throw new WrongPassphraseException();
        } finally {
            Arrays.fill(kek, (byte) 0);
        }
    }

    static Keyslot wrap(byte[] vaultId, long id, byte[] dek, char[] passphrase, KdfParams params,
            SecureRandom random) {
        byte[] salt = new byte[SALT_BYTES];
        random.nextBytes(salt);
        Keyslot unsealed = new Keyslot(id, "argon2id", params, salt, new byte[0], new byte[0]);
        byte[] password = Passphrases.utf8(passphrase);
        byte[] kek = Argon2id.derive(password, salt, params, AesGcm.KEY_BYTES);
        Arrays.fill(password, (byte) 0);
        try {
            byte[] wrapped = AesGcm.seal(kek, dek, keyslotAad(vaultId, unsealed), random);
            Keyslot slot = new Keyslot(id, "argon2id", params, salt, wrapped, new byte[0]);
            return new Keyslot(id, "argon2id", params, salt, wrapped, slot.computeChecksum(vaultId));
        } finally {
            Arrays.fill(kek, (byte) 0);
        }
    }

    private static byte[] keyslotAad(byte[] vaultId, Keyslot slot) {
        return Aad.of(vaultId, 0, slot.id(), Aad.Field.KEYSLOT_KEY,
                slot.describe().getBytes(StandardCharsets.US_ASCII));
    }

    static void writeKeyslot(Connection c, Keyslot slot) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT OR REPLACE INTO keyslot"
                + "(id, kdf, memory_kib, iterations, parallelism, salt, wrapped_key, checksum)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setLong(1, slot.id());
            ps.setString(2, slot.kdf());
            ps.setInt(3, slot.params().memoryKib());
            ps.setInt(4, slot.params().iterations());
            ps.setInt(5, slot.params().parallelism());
            ps.setBytes(6, slot.salt());
            ps.setBytes(7, slot.wrappedKey());
            ps.setBytes(8, slot.checksum());
            ps.executeUpdate();
        }
    }

    private static int readFormatVersion(Connection c, Path file) throws SQLException, VaultException {
        byte[] raw;
        try {
            raw = readMeta(c, "format_version");
        } catch (SQLException e) {
            if (e.getMessage() != null && e.getMessage().contains("no such table")) {
                throw new VaultFormatException(file + " is not a brokerctl vault (no meta table)");
            }
            throw e;
        }
        if (raw == null) {
            throw new VaultFormatException(file + " is not a brokerctl vault (no format version)");
        }
        try {
            return Integer.parseInt(new String(raw, StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
            throw new VaultIntegrityException("the vault header of " + file
                    + " is damaged (format version); restore the file from a backup");
        }
    }

    private static byte[] readMeta(Connection c, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT value FROM meta WHERE key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getBytes(1) : null;
            }
        }
    }

    private static Keyslot readKeyslot(Connection c, Path file) throws SQLException, VaultException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id, kdf, memory_kib, iterations,"
                + " parallelism, salt, wrapped_key, checksum FROM keyslot WHERE id = ?")) {
            ps.setLong(1, KEYSLOT_ID);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new VaultIntegrityException("the vault " + file
                            + " has no keyslot; restore the file from a backup");
                }
                String kdf = rs.getString(2);
                if (!"argon2id".equals(kdf)) {
                    throw new VaultIntegrityException("keyslot 1 of " + file
                            + " names an unknown KDF; the file was modified or is corrupted");
                }
                return new Keyslot(rs.getLong(1), kdf,
                        new KdfParams(rs.getInt(3), rs.getInt(4), rs.getInt(5)),
                        nonNull(rs.getBytes(6)), nonNull(rs.getBytes(7)), nonNull(rs.getBytes(8)));
            }
        }
    }

    private static byte[] nonNull(byte[] b) {
        return b == null ? new byte[0] : b;
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // closing after a failure: the first failure is the one to report
        }
    }

    /** Closes the connection of a vault that was not unlocked. */
    @Override
    public void close() {
        if (!handedOver) {
            closeQuietly(connection);
        }
    }

    @Override
    public String toString() {
        return "Vault[" + path + ", locked]";
    }
}

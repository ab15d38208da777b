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
 * derived from the passphrase by Argon2id. The keyslot carries an unkeyed SHA-256 checksum: it
 * tells accidental corruption from a wrong passphrase, but it is no integrity protection, since
 * whoever edits the slot can recompute it. What protects the slot is the wrap's AAD (slot id,
 * parameters, format version): an edited slot no longer unwraps, and since that looks exactly
 * like a wrong passphrase, the error says "wrong passphrase, or a damaged keyslot".
 *
 * <p>Format version 2 differs from 1 in two ways: the audit table and its sealed genesis head are
 * written by {@link #create}, so a missing one is damage, never re-created; and the format version
 * is bound into the keyslot's AAD, so editing {@code format_version} back to 1 (where the audit log
 * was created on first use) makes the slot fail to open. A format 1 vault is upgraded at its
 * first unlock.
 *
 * <p>Format version 3 adds item versions and the sealed vault state ({@link VaultState}): every
 * environment and variable row carries the state counter of the write that last touched it, bound
 * into its ciphertexts' AAD, and {@code meta 'vault_state'} seals the counter, the XOR of every live
 * row's tag and the audit head. A format 1 or 2 vault is upgraded at its first unlock (see
 * {@link VaultSession#upgrade}), the keyslot re-wrapped for format 3 in the same transaction.
 */
public final class Vault implements AutoCloseable {

    /** The format this build writes; it also reads (and upgrades) {@link #LEGACY_FORMAT_VERSION}. */
    public static final int FORMAT_VERSION = 3;

    /** Vaults made before the audit genesis: the audit log was created on first use. */
    static final int LEGACY_FORMAT_VERSION = 1;

    /** Vaults with the audit genesis but no item versions and no sealed vault state. */
    static final int FORMAT_2 = 2;

    private static final int[] KNOWN_FORMATS = {LEGACY_FORMAT_VERSION, FORMAT_2, FORMAT_VERSION};

    static final int VAULT_ID_BYTES = 16;
    private static final int SALT_BYTES = 16;
    private static final long KEYSLOT_ID = 1;

    private final Path path;
    private final Connection connection;
    private final byte[] vaultId;
    private final Keyslot keyslot;
    private final int formatVersion;
    private final Clock clock;
    private final SecureRandom random;
    private boolean handedOver;

    private Vault(Path path, Connection connection, byte[] vaultId, Keyslot keyslot, int formatVersion,
            Clock clock, SecureRandom random) {
        this.path = path;
        this.connection = connection;
        this.vaultId = vaultId;
        this.keyslot = keyslot;
        this.formatVersion = formatVersion;
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

    /**
     * Creates a new vault file at {@code path}, its directory 0700 and the file 0600, with an
     * empty audit log (its genesis head sealed).
     *
     * @throws IllegalArgumentException when {@code params} are below the floor (m = 19 MiB, t = 2)
     *     and not {@link KdfParams#insecureForTests}, or above the caps
     */
    public static void create(Path path, char[] passphrase, KdfParams params) throws VaultException {
        create(path, passphrase, params, new SecureRandom());
    }

    static void create(Path path, char[] passphrase, KdfParams params, SecureRandom random)
            throws VaultException {
        Passphrases.checkNew(passphrase);
        params.checkCreationFloor();
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
                    for (String ddl : Schema.V3_VERSIONS) {
                        s.execute(ddl);
                    }
                    s.execute(Schema.AUDIT);
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
                try (PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO meta(key, value) VALUES (?, ?)")) {
                    ps.setString(1, Schema.AUDIT_HEAD_KEY);
                    ps.setBytes(2, VaultSession.sealedGenesisHead(vaultId, dek, random));
                    ps.executeUpdate();
                    ps.setString(1, VaultSession.STATE_META_KEY);
                    ps.setBytes(2, VaultSession.sealedInitialState(vaultId, dek, random));
                    ps.executeUpdate();
                }
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
            if (Arrays.stream(KNOWN_FORMATS).noneMatch(f -> f == version)) {
                throw new VaultFormatException("the vault at " + file + " has unknown format version "
                        + version + "; the file was modified or is corrupted");
            }
            byte[] vaultId = readMeta(c, "vault_id");
            if (vaultId == null || vaultId.length != VAULT_ID_BYTES) {
                throw new VaultIntegrityException("the vault header of " + file
                        + " is damaged (vault id); restore the file from a backup");
            }
            Keyslot slot = readKeyslot(c, file);
            return new Vault(file, c, vaultId, slot, version, clock, random);
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
        Unwrapped unwrapped;
        VaultSession session;
        try {
            unwrapped = unwrap(keyslot, passphrase);
            session = new VaultSession(path, connection, vaultId, unwrapped.dek(), clock, random);
        } catch (VaultException | RuntimeException e) {
            close();   // a failed unlock keeps no file descriptor open
            throw e;
        }
        handedOver = true;
        if (unwrapped.upgraded() != null) {
            try {
                session.upgrade(formatVersion, unwrapped.upgraded());
            } catch (VaultException | RuntimeException e) {
                session.close();
                throw e;
            }
        }
        return session;
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
            byte[] dek = unwrap(keyslot, passphrase).dek();
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

    /**
     * Opens the keyslot with {@code passphrase}, locally, and returns only keys derived from the
     * vault key (see {@link ApproverKeys}). Writes nothing (a format 1 vault is not upgraded here);
     * closes this handle.
     *
     * @throws WrongPassphraseException when the passphrase does not open this file's keyslot
     */
    public ApproverKeys approverKeys(char[] passphrase) throws VaultException {
        try {
            return new ApproverKeys(vaultId, unwrap(keyslot, passphrase).dek(), random);
        } finally {
            close();
        }
    }

    /**
     * Unlocks with a vault key another process sealed ({@link ApproverKeys#sealVaultKey}), after
     * checking it against {@code verifier}, the unlock verifier the daemon kept when it locked:
     * only the key this daemon held before is accepted, whatever file is at the path.
     *
     * @throws VaultIntegrityException when the sealed key does not open, or is another vault's
     */
    public VaultSession unlockWithSealedKey(byte[] transportKey, byte[] sealed, byte[] aad, byte[] verifier)
            throws VaultException {
        if (handedOver) {
            throw new IllegalStateException("this vault handle was already unlocked");
        }
        byte[] dek = null;
        VaultSession session;
        try {
            if (formatVersion != FORMAT_VERSION) {
                throw new VaultIntegrityException("the vault file at " + path + " has format " + formatVersion
                        + ", which this daemon never unlocked; the file was replaced. Put the original back");
            }
            try {
                dek = AesGcm.open(transportKey, sealed, aad);
            } catch (AEADBadTagException | IllegalArgumentException e) {
                throw new VaultIntegrityException("the vault key sent to unlock did not decrypt");
            }
            byte[] check = ApproverKeys.derive(dek, vaultId, ApproverKeys.UNLOCK_LABEL);
            boolean same = MessageDigest.isEqual(check, verifier);
            Arrays.fill(check, (byte) 0);
            if (!same) {
                throw new VaultIntegrityException("the key sent to unlock is not the key of the vault this daemon"
                        + " held, or the vault file at " + path + " was replaced; nothing was unlocked");
            }
            session = new VaultSession(path, connection, vaultId, dek, clock, random);
        } catch (VaultException | RuntimeException e) {
            if (dek != null) {
                Arrays.fill(dek, (byte) 0);
            }
            close();
            throw e;
        }
        handedOver = true;
        return session;
    }

    /** The vault key, and for an older format its slot re-wrapped for the current one (else null). */
    private record Unwrapped(byte[] dek, Keyslot upgraded) {
        @Override
        public String toString() {
            return "Unwrapped[redacted]";
        }
    }

    private Unwrapped unwrap(Keyslot slot, char[] passphrase) throws VaultException {
        try {
            slot.params().checkWithinCaps();
        } catch (IllegalArgumentException e) {
            throw new VaultIntegrityException("keyslot " + slot.id() + " of " + path + " is refused: "
                    + e.getMessage() + "; the file was modified or is corrupted");
        }
        // Catches accidental corruption only: an editor recomputes this unkeyed checksum.
        if (!MessageDigest.isEqual(slot.checksum(), slot.computeChecksum(vaultId))) {
            throw new VaultIntegrityException("keyslot " + slot.id() + " of " + path
                    + " failed its checksum; the file was modified or is corrupted."
                    + " Restore it from a backup");
        }
        byte[] password = Passphrases.utf8(passphrase);
        byte[] kek = Argon2id.derive(password, slot.salt(), slot.params(), AesGcm.KEY_BYTES);
        Arrays.fill(password, (byte) 0);
        try {
            byte[] dek = openSlot(kek, slot, formatVersion);
            if (dek != null) {
                return new Unwrapped(dek, formatVersion == FORMAT_VERSION ? null
                        : sealSlot(kek, vaultId, slot.id(), dek, slot.params(), slot.salt(), random));
            }
            for (int other : KNOWN_FORMATS) {
                if (other == formatVersion) {
                    continue;
                }
                byte[] otherDek = openSlot(kek, slot, other);
                if (otherDek != null) {
                    Arrays.fill(otherDek, (byte) 0);
                    throw new VaultIntegrityException("the format version of " + path + " was changed: the"
                            + " header says " + formatVersion + ", the keyslot was written for " + other
                            + "; the file was modified. Restore it from a backup");
                }
            }
            throw new WrongPassphraseException();
        } finally {
            Arrays.fill(kek, (byte) 0);
        }
    }

    /** The vault key, or null when the tag does not verify for {@code format}. */
    private byte[] openSlot(byte[] kek, Keyslot slot, int format) {
        try {
            return AesGcm.open(kek, slot.wrappedKey(), keyslotAad(vaultId, slot, format));
        } catch (AEADBadTagException e) {
            return null;
        }
    }

    static Keyslot wrap(byte[] vaultId, long id, byte[] dek, char[] passphrase, KdfParams params,
            SecureRandom random) {
        byte[] salt = new byte[SALT_BYTES];
        random.nextBytes(salt);
        byte[] password = Passphrases.utf8(passphrase);
        byte[] kek = Argon2id.derive(password, salt, params, AesGcm.KEY_BYTES);
        Arrays.fill(password, (byte) 0);
        try {
            return sealSlot(kek, vaultId, id, dek, params, salt, random);
        } finally {
            Arrays.fill(kek, (byte) 0);
        }
    }

    /** Wraps {@code dek} under {@code kek} for the current format. */
    private static Keyslot sealSlot(byte[] kek, byte[] vaultId, long id, byte[] dek, KdfParams params,
            byte[] salt, SecureRandom random) {
        Keyslot unsealed = new Keyslot(id, "argon2id", params, salt, new byte[0], new byte[0]);
        byte[] wrapped = AesGcm.seal(kek, dek, keyslotAad(vaultId, unsealed, FORMAT_VERSION), random);
        Keyslot slot = new Keyslot(id, "argon2id", params, salt, wrapped, new byte[0]);
        return new Keyslot(id, "argon2id", params, salt, wrapped, slot.computeChecksum(vaultId));
    }

    /** Format 1 bound the slot's parameters; formats 2 and later bind their own number too. */
    private static byte[] keyslotAad(byte[] vaultId, Keyslot slot, int format) {
        String bound = slot.describe() + (format == LEGACY_FORMAT_VERSION ? "" : "|format=" + format);
        return Aad.of(vaultId, 0, slot.id(), Aad.Field.KEYSLOT_KEY, bound.getBytes(StandardCharsets.US_ASCII));
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

    /** What was done to verify SQLite's native library before it loaded, for the daemon's log. */
    public static String nativeLibraryReport() {
        return SqliteNative.report();
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

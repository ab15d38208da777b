package dev.brokerctl.vault;

import dev.brokerctl.vault.audit.AuditChain;
import dev.brokerctl.vault.audit.AuditCodec;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEntry;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import dev.brokerctl.vault.audit.AuditVerification;
import dev.brokerctl.vault.crypto.AesGcm;
import dev.brokerctl.vault.crypto.Hkdf;
import dev.brokerctl.vault.crypto.HmacSha256;
import dev.brokerctl.vault.crypto.KdfParams;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntFunction;
import javax.crypto.AEADBadTagException;

/**
 * An unlocked vault: it holds the vault key and its subkeys until {@link #close()}, which zeroes
 * them and closes the file. Listing returns metadata only; values leave only through
 * {@link #resolve}, as a {@link ResolvedValues} for injection. Methods are synchronized, so one
 * session may serve several threads.
 */
public final class VaultSession implements AutoCloseable {

    private static final byte[] ENV_INDEX_TAG = "environment\0".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VAR_INDEX_TAG = "variable\0".getBytes(StandardCharsets.US_ASCII);

    private final Path path;
    private final Connection connection;
    private final byte[] vaultId;
    private final byte[] dek;
    private final byte[] valueKey;
    private final byte[] metadataKey;
    private final byte[] indexKey;
    private final Clock clock;
    private final SecureRandom random;
    private boolean closed;

    VaultSession(Path path, Connection connection, byte[] vaultId, byte[] dek, Clock clock,
            SecureRandom random) {
        this.path = path;
        this.connection = connection;
        this.vaultId = vaultId;
        this.dek = dek;
        this.valueKey = Hkdf.subkey(dek, vaultId, "brokerctl/v1/value");
        this.metadataKey = Hkdf.subkey(dek, vaultId, "brokerctl/v1/metadata");
        this.indexKey = Hkdf.subkey(dek, vaultId, "brokerctl/v1/name-index");
        this.auditKey = Hkdf.subkey(dek, vaultId, "brokerctl/v1/audit");
        this.auditChainKey = Hkdf.subkey(dek, vaultId, "brokerctl/v1/audit-chain");
        this.clock = clock;
        this.random = random;
    }

    public Path path() {
        return path;
    }

    // ---------------------------------------------------------------- environments

    /** Every environment whose name and policy decrypt, in name order. */
    public synchronized Listing<EnvironmentInfo> listEnvironments() throws VaultException {
        checkOpen();
        return Sqlite.inReadTransaction(connection, path, () -> {
            List<EnvironmentInfo> items = new ArrayList<>();
            List<String> damaged = new ArrayList<>();
            try (PreparedStatement ps = connection.prepareStatement("SELECT e.id, e.name, e.policy,"
                    + " (SELECT count(*) FROM variable v WHERE v.environment_id = e.id), e.name_index"
                    + " FROM environment e")) {
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long id = rs.getLong(1);
                        String name;
                        try {
                            name = text(metadataKey, rs.getBytes(2), id, 0, Aad.Field.ENVIRONMENT_NAME);
                        } catch (AEADBadTagException e) {
                            damaged.add("an environment (row " + id + ") failed its integrity check:"
                                    + " its name does not decrypt");
                            continue;
                        }
                        if (!MessageDigest.isEqual(nullToEmpty(rs.getBytes(5)), environmentIndex(name))) {
                            damaged.add("environment '" + name + "' failed its integrity check:"
                                    + " its name index was modified");
                            continue;
                        }
                        try {
                            Rule rule = decodePolicy(rs.getBytes(3), id);
                            items.add(new EnvironmentInfo(name, rule.policy(), rs.getInt(4), rule.maxGrant(), rule.hostRuns()));
                        } catch (AEADBadTagException | IllegalArgumentException e) {
                            damaged.add("environment '" + name + "' failed its integrity check:"
                                    + " its policy does not decrypt");
                        }
                    }
                }
            }
            items.sort(Comparator.comparing(EnvironmentInfo::name));
            return new Listing<>(items, damaged);
        });
    }

    public synchronized EnvironmentInfo environment(String name) throws VaultException {
        checkOpen();
        Names.checkEnvironment(name);
        return Sqlite.inReadTransaction(connection, path, () -> {
            Env env = findEnvironment(name);
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT count(*) FROM variable WHERE environment_id = ?")) {
                ps.setLong(1, env.id);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return new EnvironmentInfo(name, env.rule.policy(), rs.getInt(1), env.rule.maxGrant(), env.rule.hostRuns());
                }
            }
        });
    }

    /** As {@link #createEnvironment(String, Policy, AuditRecord)} with no audit entry. */
    public synchronized void createEnvironment(String name, Policy policy) throws VaultException {
        createEnvironment(name, policy, null);
    }

    /**
     * Creates an environment and appends {@code audit} (null: nothing) in the same transaction:
     * both commit or neither does, so a damaged audit log refuses the change too.
     */
    public synchronized void createEnvironment(String name, Policy policy, AuditRecord audit)
            throws VaultException {
        checkOpen();
        Names.checkEnvironment(name);
        Sqlite.inWriteTransaction(connection, path, () -> {
            byte[] index = environmentIndex(name);
            if (environmentRow(index) != null) {
                throw new ConflictException("environment '" + name + "' already exists");
            }
            long id = newId();
            try (PreparedStatement ps = connection.prepareStatement(
                    "INSERT INTO environment(id, name_index, name, policy) VALUES (?, ?, ?, ?)")) {
                ps.setLong(1, id);
                ps.setBytes(2, index);
                ps.setBytes(3, seal(metadataKey, name.getBytes(StandardCharsets.UTF_8), id, 0,
                        Aad.Field.ENVIRONMENT_NAME));
                ps.setBytes(4, encodePolicy(new Rule(policy, null, false), id));
                ps.executeUpdate();
            }
            appendIfAny(audit);
            return null;
        });
    }

    public synchronized void setPolicy(String name, Policy policy) throws VaultException {
        setPolicy(name, policy, null);
    }

    /**
     * Changes an environment's approval policy and its longest grant ({@code null}: the broker's
     * own limit). The policy is encrypted and authenticated like every other field, so editing the
     * file cannot turn approvals off.
     */
    public synchronized void setPolicy(String name, Policy policy, java.time.Duration maxGrant) throws VaultException {
        setPolicy(name, policy, maxGrant, null);
    }

    /** As {@link #setPolicy(String, Policy, java.time.Duration)}, appending {@code audit} (null: nothing) in the same transaction. */
    public synchronized void setPolicy(String name, Policy policy, java.time.Duration maxGrant, AuditRecord audit)
            throws VaultException {
        setPolicy(name, policy, maxGrant, false, audit);
    }

    /**
     * As {@link #setPolicy(String, Policy, java.time.Duration, AuditRecord)}, and the run profile:
     * {@code hostRuns} lets approved commands of this environment see the host's file system
     * unrestricted.
     */
    public synchronized void setPolicy(String name, Policy policy, java.time.Duration maxGrant, boolean hostRuns,
            AuditRecord audit) throws VaultException {
        checkOpen();
        Names.checkEnvironment(name);
        Sqlite.inWriteTransaction(connection, path, () -> {
            Env env = findEnvironment(name);
            try (PreparedStatement ps = connection.prepareStatement(
                    "UPDATE environment SET policy = ? WHERE id = ?")) {
                ps.setBytes(1, encodePolicy(new Rule(policy, maxGrant, hostRuns), env.id));
                ps.setLong(2, env.id);
                ps.executeUpdate();
            }
            appendIfAny(audit);
            return null;
        });
    }

    /** Deletes an environment and all its variables; returns how many variables went with it. */
    public synchronized int deleteEnvironment(String name) throws VaultException {
        return deleteEnvironment(name, null);
    }

    /**
     * As {@link #deleteEnvironment(String)}, appending {@code audit.apply(variables deleted)}
     * (null: nothing) in the same transaction.
     */
    public synchronized int deleteEnvironment(String name, IntFunction<AuditRecord> audit)
            throws VaultException {
        checkOpen();
        Names.checkEnvironment(name);
        return Sqlite.inWriteTransaction(connection, path, () -> {
            byte[] index = environmentIndex(name);
            Long id = environmentRow(index);
            if (id == null) {
                throw environmentMiss(name);
            }
            int count;
            try (PreparedStatement ps = connection.prepareStatement(
                    "DELETE FROM variable WHERE environment_id = ?")) {
                ps.setLong(1, id);
                count = ps.executeUpdate();
            }
            try (PreparedStatement ps = connection.prepareStatement("DELETE FROM environment WHERE id = ?")) {
                ps.setLong(1, id);
                ps.executeUpdate();
            }
            if (audit != null) {
                appendAudit(List.of(audit.apply(count)));
            }
            return count;
        });
    }

    // ---------------------------------------------------------------- variables

    /** Names, descriptions and update times of an environment's variables, in name order. */
    public synchronized Listing<VariableInfo> listVariables(String environment) throws VaultException {
        checkOpen();
        Names.checkEnvironment(environment);
        return Sqlite.inReadTransaction(connection, path, () -> {
            Env env = findEnvironment(environment);
            List<VariableInfo> items = new ArrayList<>();
            List<String> damaged = new ArrayList<>();
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT id, name, meta, name_index FROM variable WHERE environment_id = ?")) {
                ps.setLong(1, env.id);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long id = rs.getLong(1);
                        String name;
                        try {
                            name = text(metadataKey, rs.getBytes(2), env.id, id, Aad.Field.VARIABLE_NAME);
                        } catch (AEADBadTagException e) {
                            damaged.add("a variable in environment '" + environment + "' (row " + id
                                    + ") failed its integrity check: its name does not decrypt");
                            continue;
                        }
                        if (!MessageDigest.isEqual(nullToEmpty(rs.getBytes(4)), variableIndex(env.id, name))) {
                            damaged.add(integrity(environment, name, "name index").getMessage());
                            continue;
                        }
                        try {
                            items.add(decodeMeta(name, rs.getBytes(3), env.id, id));
                        } catch (AEADBadTagException e) {
                            damaged.add(integrity(environment, name, "description").getMessage());
                        }
                    }
                }
            }
            items.sort(Comparator.comparing(VariableInfo::name));
            return new Listing<>(items, damaged);
        });
    }

    /**
     * Stores a value, creating the variable or replacing its value. The session does not keep
     * {@code value}; the caller destroys it.
     *
     * @param description the new description, or {@code null} to keep the current one
     */
    public synchronized void put(String environment, String name, SecretValue value, String description)
            throws VaultException {
        put(environment, name, value, description, null);
    }

    /** As {@link #put(String, String, SecretValue, String)}, appending {@code audit} (null: nothing) in the same transaction. */
    public synchronized void put(String environment, String name, SecretValue value, String description,
            AuditRecord audit) throws VaultException {
        checkOpen();
        Names.checkEnvironment(environment);
        Names.checkVariable(name);
        Sqlite.inWriteTransaction(connection, path, () -> {
            Env env = findEnvironment(environment);
            upsert(env, environment, name, value, description);
            appendIfAny(audit);
            return null;
        });
    }

    /** Stores several values in one transaction: all of them or, on failure, none. */
    public synchronized void putAll(String environment, Map<String, SecretValue> values)
            throws VaultException {
        putAll(environment, values, null);
    }

    /** As {@link #putAll(String, Map)}, appending {@code audit} (null: nothing) in the same transaction. */
    public synchronized void putAll(String environment, Map<String, SecretValue> values, AuditRecord audit)
            throws VaultException {
        checkOpen();
        Names.checkEnvironment(environment);
        values.keySet().forEach(Names::checkVariable);
        Sqlite.inWriteTransaction(connection, path, () -> {
            Env env = findEnvironment(environment);
            for (Map.Entry<String, SecretValue> e : values.entrySet()) {
                upsert(env, environment, e.getKey(), e.getValue(), null);
            }
            appendIfAny(audit);
            return null;
        });
    }

    public synchronized void delete(String environment, String name) throws VaultException {
        delete(environment, name, null);
    }

    /** As {@link #delete(String, String)}, appending {@code audit} (null: nothing) in the same transaction. */
    public synchronized void delete(String environment, String name, AuditRecord audit) throws VaultException {
        checkOpen();
        Names.checkEnvironment(environment);
        Names.checkVariable(name);
        Sqlite.inWriteTransaction(connection, path, () -> {
            Env env = findEnvironment(environment);
            try (PreparedStatement ps = connection.prepareStatement(
                    "DELETE FROM variable WHERE environment_id = ? AND name_index = ?")) {
                ps.setLong(1, env.id);
                ps.setBytes(2, variableIndex(env.id, name));
                if (ps.executeUpdate() == 0) {
                    throw variableMiss(env, environment, name);
                }
            }
            appendIfAny(audit);
            return null;
        });
    }

    /**
     * Decrypts the values to inject: the named variables, or every variable of the environment
     * when {@code names} is null. Fails as a whole if one is missing or damaged.
     */
    public synchronized ResolvedValues resolve(String environment, Collection<String> names)
            throws VaultException {
        checkOpen();
        Names.checkEnvironment(environment);
        if (names != null) {
            names.forEach(Names::checkVariable);
        }
        TreeMap<String, SecretValue> out = new TreeMap<>();
        try {
            Sqlite.inReadTransaction(connection, path, () -> {
                Env env = findEnvironment(environment);
                if (names == null) {
                    resolveAll(env, environment, out);
                } else {
                    // every missing name in one message, not only the first
                    java.util.List<String> missing = new java.util.ArrayList<>();
                    for (String name : names) {
                        if (!out.containsKey(name) && !missing.contains(name)) {
                            try {
                                out.put(name, resolveOne(env, environment, name));
                            } catch (NotFoundException e) {
                                missing.add(name);
                            }
                        }
                    }
                    if (missing.size() == 1) {
                        throw NotFoundException.variable(environment, missing.get(0));
                    } else if (!missing.isEmpty()) {
                        throw NotFoundException.variables(environment, missing);
                    }
                }
                return null;
            });
        } catch (VaultException | RuntimeException e) {
            out.values().forEach(SecretValue::destroy);
            throw e;
        }
        return ResolvedValues.of(environment, new LinkedHashMap<>(out));
    }

    /** The row id of a variable, for tests that edit the file behind the vault's back. */
    synchronized long rowIdOf(String environment, String name) throws VaultException {
        return Sqlite.inReadTransaction(connection, path, () -> {
            Env env = findEnvironment(environment);
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT id FROM variable WHERE environment_id = ? AND name_index = ?")) {
                ps.setLong(1, env.id);
                ps.setBytes(2, variableIndex(env.id, name));
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw variableMiss(env, environment, name);
                    }
                    return rs.getLong(1);
                }
            }
        });
    }

    // ---------------------------------------------------------------- keyslot

    /** Re-wraps the vault key under a new passphrase; the data is not re-encrypted. */
    public synchronized void changePassphrase(char[] newPassphrase, KdfParams params) throws VaultException {
        changePassphrase(newPassphrase, params, null);
    }

    /**
     * As {@link #changePassphrase(char[], KdfParams)}, appending {@code audit} (null: nothing) in
     * the same transaction.
     *
     * @throws IllegalArgumentException when {@code params} are below the creation floor (see
     *     {@link KdfParams#checkCreationFloor()}): the new slot is a new slot
     */
    public synchronized void changePassphrase(char[] newPassphrase, KdfParams params, AuditRecord audit)
            throws VaultException {
        checkOpen();
        Passphrases.checkNew(newPassphrase);
        params.checkCreationFloor();
        Vault.Keyslot slot = Vault.wrap(vaultId, 1, dek, newPassphrase, params, random);
        Sqlite.inWriteTransaction(connection, path, () -> {
            Vault.writeKeyslot(connection, slot);
            appendIfAny(audit);
            return null;
        });
    }

    // ---- audit
    //
    // Entries live in table `audit` (Schema.AUDIT), each sealed under the audit subkey with the
    // AAD bound to its sequence number, and chained by AuditChain's MAC under its own subkey.
    // The head (last seq, last MAC) is sealed in meta 'audit_head'. An append reads the head,
    // writes the entry and the new head in one BEGIN IMMEDIATE transaction, so appenders in
    // several processes keep one chain.

    private final byte[] auditKey;
    private final byte[] auditChainKey;

    /**
     * Appends an entry: names, argv and numbers only, never a value (see {@link AuditDetails}).
     *
     * @param environment the environment concerned, or null for a vault-wide event
     * @return the entry's sequence number
     * @throws IllegalArgumentException when a detail is refused (a secret, an unknown type)
     * @throws VaultIntegrityException when the audit head is missing or damaged: the chain
     *     cannot be extended without hiding the damage
     */
    public long audit(AuditEvent type, String environment, Map<String, ?> details) throws VaultException {
        return audit(List.of(AuditRecord.of(type, environment, details)));
    }

    /**
     * Appends entries in order, in one transaction (one sync to disk): all of them or none.
     *
     * @return the last entry's sequence number
     * @throws VaultIntegrityException as {@link #audit(AuditEvent, String, Map)}
     */
    public synchronized long audit(List<AuditRecord> records) throws VaultException {
        checkOpen();
        if (records.isEmpty()) {
            throw new IllegalArgumentException("no audit entries to append");
        }
        return Sqlite.inWriteTransaction(connection, path, () -> appendAudit(records));
    }

    /**
     * Appends inside the caller's write transaction, so a change and its entry commit together
     * or not at all. Refuses to extend a chain that does not end where its head says: a head
     * replayed from earlier, or entries deleted, would otherwise be sealed over by new entries.
     */
    private void appendIfAny(AuditRecord audit) throws SQLException, VaultException {
        if (audit != null) {
            appendAudit(List.of(audit));
        }
    }

    private long appendAudit(List<AuditRecord> records) throws SQLException, VaultException {
        requireAuditTable();
        AuditChain.Head head = readAuditHead();
        if (head == null) {
            throw new VaultIntegrityException("the audit head of " + path + " is missing or was"
                    + " modified, so the audit log cannot be extended; the vault file was"
                    + " modified. Check it with: brokerctl audit verify");
        }
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT min(seq) FROM audit WHERE seq > ?")) {
            ps.setLong(1, head.seq());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && rs.getObject(1) != null) {
                    throw new VaultIntegrityException("the audit log of " + path + " has entry "
                            + rs.getLong(1) + " past its head (" + head.seq() + "); the vault file"
                            + " was modified. Check it with: brokerctl audit verify");
                }
            }
        }
        // The head binds the entry count and the last entry's MAC (seq runs 1..n without gaps).
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT count(*), (SELECT mac FROM audit WHERE seq = ?) FROM audit")) {
            ps.setLong(1, head.seq());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                byte[] lastMac = head.seq() == 0 ? AuditChain.zeroMac() : rs.getBytes(2);
                if (rs.getLong(1) != head.seq() || lastMac == null
                        || !MessageDigest.isEqual(lastMac, head.mac())) {
                    throw new VaultIntegrityException("the audit log of " + path + " does not end"
                            + " where its head says (entry " + head.seq() + "); entries are missing"
                            + " or were modified, so the log cannot be extended. Check it with:"
                            + " brokerctl audit verify");
                }
            }
        }
        try (PreparedStatement ps = connection.prepareStatement(
                "INSERT INTO audit(seq, entry, mac) VALUES (?, ?, ?)")) {
            for (AuditRecord r : records) {
                long seq = head.seq() + 1;
                // the time is taken inside the write lock, so times follow the sequence numbers
                byte[] sealed = seal(auditKey, AuditCodec.encode(clock.instant(), r.type(), r.environment(),
                        r.details()), 0, seq, Aad.Field.AUDIT_ENTRY);
                head = new AuditChain.Head(seq, AuditChain.link(auditChainKey, head.mac(), seq, sealed));
                ps.setLong(1, seq);
                ps.setBytes(2, sealed);
                ps.setBytes(3, head.mac());
                ps.executeUpdate();
            }
        }
        writeAuditHead(head);
        return head.seq();
    }

    /**
     * The entries, oldest first, from {@code since} (null: all) in {@code environment} (null:
     * all). An entry that does not decrypt or decode is returned in its place as
     * {@link AuditEntry#isDamaged() damaged}, whatever the filters. This does not check the
     * chain; {@link #verifyAudit()} does.
     */
    public synchronized List<AuditEntry> auditEntries(Instant since, String environment)
            throws VaultException {
        return auditEntriesAfter(0, since, environment);
    }

    /** As {@link #auditEntries} for the entries after sequence number {@code afterSeq}. */
    public synchronized List<AuditEntry> auditEntriesAfter(long afterSeq, Instant since,
            String environment) throws VaultException {
        checkOpen();
        return Sqlite.inReadTransaction(connection, path, () -> {
            requireAuditTable();
            List<AuditEntry> out = new ArrayList<>();
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT seq, entry FROM audit WHERE seq > ? ORDER BY seq")) {
                ps.setLong(1, afterSeq);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        AuditEntry e = decodeAuditEntry(rs.getLong(1), rs.getBytes(2));
                        if (e.isDamaged() || ((since == null || !e.time().isBefore(since))
                                && (environment == null || environment.equals(e.environment())))) {
                            out.add(e);
                        }
                    }
                }
            }
            return out;
        });
    }

    /**
     * Checks the whole chain against the sealed head: every entry present, in order, unchanged,
     * none cut off the end. Returns the first problem found.
     */
    public synchronized AuditVerification verifyAudit() throws VaultException {
        checkOpen();
        return Sqlite.inReadTransaction(connection, path, () -> {
            if (!auditTableExists()) {
                return AuditVerification.broken(0, 0, AUDIT_TABLE_MISSING);
            }
            AuditChain.Head head = readAuditHead();
            List<AuditChain.Row> rows = new ArrayList<>();
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT seq, entry, mac FROM audit ORDER BY seq");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new AuditChain.Row(rs.getLong(1), nullToEmpty(rs.getBytes(2)),
                            nullToEmpty(rs.getBytes(3))));
                }
            }
            return AuditChain.verify(auditChainKey, rows, head, (sealed, seq) -> {
                try {
                    open(auditKey, sealed, 0, seq, Aad.Field.AUDIT_ENTRY);
                    return true;
                } catch (AEADBadTagException e) {
                    return false;
                }
            });
        });
    }

    private static final String AUDIT_TABLE_MISSING = "the audit table is missing (it was dropped)";

    /** Every vault of format 2 has the table from its creation: a missing one was dropped. */
    private void requireAuditTable() throws SQLException, VaultException {
        if (!auditTableExists()) {
            throw new VaultIntegrityException(AUDIT_TABLE_MISSING.replace("the audit table", "the audit"
                    + " table of " + path) + "; the vault file was modified. Check it with:"
                    + " brokerctl audit verify");
        }
    }

    /** The genesis head (an empty chain) sealed for a new vault, so that it is never re-created. */
    static byte[] sealedGenesisHead(byte[] vaultId, byte[] dek, SecureRandom random) {
        byte[] key = Hkdf.subkey(dek, vaultId, "brokerctl/v1/audit");
        try {
            return AesGcm.seal(key, AuditChain.Head.genesis().encode(),
                    Aad.of(vaultId, 0, 0, Aad.Field.AUDIT_HEAD), random);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /**
     * Brings a format 1 vault to format 2 in one transaction: the keyslot re-wrapped with the
     * format in its AAD, and the audit table and genesis head created if the vault has neither.
     * That last step is the one thing that cannot be told apart: a format 1 vault whose audit log
     * was wiped before its first unlock by this version looks like one that never had a log. From
     * then on the keyslot pins format 2, so wiping the log again is damage.
     */
    void upgradeFromFormat1(Vault.Keyslot rewrapped) throws VaultException {
        checkOpen();
        Sqlite.inWriteTransaction(connection, path, () -> {
            byte[] version = readMetaValue("format_version");
            if (version != null && Integer.toString(Vault.FORMAT_VERSION)
                    .equals(new String(version, StandardCharsets.US_ASCII))) {
                return null;   // another process upgraded it since this one read the header
            }
            if (!auditTableExists()) {
                // as format 1 did on first use: a head without a table stays visible as damage
                try (java.sql.Statement st = connection.createStatement()) {
                    st.execute(Schema.AUDIT);
                }
                if (readMetaValue(Schema.AUDIT_HEAD_KEY) == null) {
                    writeAuditHead(AuditChain.Head.genesis());
                }
            }
            Vault.writeKeyslot(connection, rewrapped);
            try (PreparedStatement ps = connection.prepareStatement(
                    "UPDATE meta SET value = ? WHERE key = 'format_version'")) {
                ps.setBytes(1, Integer.toString(Vault.FORMAT_VERSION).getBytes(StandardCharsets.US_ASCII));
                ps.executeUpdate();
            }
            return null;
        });
    }

    private boolean auditTableExists() throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'");
                ResultSet rs = ps.executeQuery()) {
            return rs.next();
        }
    }

    /** The head, or null when it is missing or does not decrypt. */
    private AuditChain.Head readAuditHead() throws SQLException {
        byte[] sealed = readMetaValue(Schema.AUDIT_HEAD_KEY);
        if (sealed == null) {
            return null;
        }
        try {
            return AuditChain.Head.decode(open(auditKey, sealed, 0, 0, Aad.Field.AUDIT_HEAD));
        } catch (AEADBadTagException | IllegalArgumentException e) {
            return null;
        }
    }

    private void writeAuditHead(AuditChain.Head head) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)")) {
            ps.setString(1, Schema.AUDIT_HEAD_KEY);
            ps.setBytes(2, seal(auditKey, head.encode(), 0, 0, Aad.Field.AUDIT_HEAD));
            ps.executeUpdate();
        }
    }

    private byte[] readMetaValue(String key) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT value FROM meta WHERE key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getBytes(1) : null;
            }
        }
    }

    private AuditEntry decodeAuditEntry(long seq, byte[] sealed) {
        byte[] plain;
        try {
            plain = open(auditKey, sealed, 0, seq, Aad.Field.AUDIT_ENTRY);
        } catch (AEADBadTagException e) {
            return AuditEntry.damaged(seq, "it does not decrypt (modified, moved or corrupted)");
        }
        try {
            return AuditCodec.decode(seq, plain);
        } catch (IllegalArgumentException e) {
            return AuditEntry.damaged(seq, "it does not decode: " + e.getMessage());
        }
    }

    private static byte[] nullToEmpty(byte[] b) {
        return b == null ? new byte[0] : b;
    }

    // ---- end audit

    /** Zeroes the keys and closes the file. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Arrays.fill(dek, (byte) 0);
        Arrays.fill(valueKey, (byte) 0);
        Arrays.fill(metadataKey, (byte) 0);
        Arrays.fill(indexKey, (byte) 0);
        Arrays.fill(auditKey, (byte) 0);
        Arrays.fill(auditChainKey, (byte) 0);
        try {
            connection.close();
        } catch (SQLException ignored) {
            // nothing is pending: every write committed in its own transaction
        }
    }

    /** Whether {@code candidateDek} of vault {@code candidateVaultId} is this session's key (constant time). */
    /** This vault's approver key (see {@link ApproverKeys#APPROVER_LABEL}); the caller zeroes it. */
    public synchronized byte[] approverKey() {
        checkOpen();
        return ApproverKeys.derive(dek, vaultId, ApproverKeys.APPROVER_LABEL);
    }

    /** This vault's unlock verifier (see {@link ApproverKeys#UNLOCK_LABEL}); the caller zeroes it. */
    public synchronized byte[] unlockVerifier() {
        checkOpen();
        return ApproverKeys.derive(dek, vaultId, ApproverKeys.UNLOCK_LABEL);
    }

    synchronized boolean isKey(byte[] candidateVaultId, byte[] candidateDek) {
        checkOpen();
        return java.security.MessageDigest.isEqual(vaultId, candidateVaultId)
                & java.security.MessageDigest.isEqual(dek, candidateDek);
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "VaultSession[" + path + (closed ? ", closed]" : ", unlocked]");
    }

    // ---------------------------------------------------------------- internals

    private record Env(long id, Rule rule) {
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the vault session is closed (locked)");
        }
    }

    private Env findEnvironment(String name) throws SQLException, VaultException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id, name, policy FROM environment WHERE name_index = ?")) {
            ps.setBytes(1, environmentIndex(name));
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw environmentMiss(name);
                }
                long id = rs.getLong(1);
                try {
                    byte[] stored = open(metadataKey, rs.getBytes(2), id, 0, Aad.Field.ENVIRONMENT_NAME);
                    if (!MessageDigest.isEqual(stored, name.getBytes(StandardCharsets.UTF_8))) {
                        throw new VaultIntegrityException("environment '" + name
                                + "' failed its integrity check: its index points to another row;"
                                + " the vault file was modified. Restore it from a backup");
                    }
                    return new Env(id, decodePolicy(rs.getBytes(3), id));
                } catch (AEADBadTagException | IllegalArgumentException e) {
                    throw new VaultIntegrityException("environment '" + name
                            + "' failed its integrity check; the vault file was modified or is"
                            + " corrupted. Restore it from a backup");
                }
            }
        }
    }

    /**
     * Environment {@code name} is not in the index. If any environment row fails its integrity
     * check, that may be why (a swapped name, an edited index), so the miss says so and does not
     * advise creating it again.
     */
    private VaultException environmentMiss(String name) throws SQLException {
        int damaged = 0;
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id, name_index, name, policy FROM environment");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                long id = rs.getLong(1);
                try {
                    byte[] stored = open(metadataKey, nullToEmpty(rs.getBytes(3)), id, 0, Aad.Field.ENVIRONMENT_NAME);
                    decodePolicy(nullToEmpty(rs.getBytes(4)), id);
                    if (!MessageDigest.isEqual(nullToEmpty(rs.getBytes(2)),
                            HmacSha256.mac(indexKey, ENV_INDEX_TAG, stored))) {
                        damaged++;
                    }
                } catch (AEADBadTagException | IllegalArgumentException e) {
                    damaged++;
                }
            }
        }
        if (damaged == 0) {
            return NotFoundException.environment(name);
        }
        return new VaultIntegrityException("environment '" + name + "' was not found, and " + damaged
                + (damaged == 1 ? " environment in this vault failed its" : " environments in this vault failed their")
                + " integrity check; the vault may have been tampered with or damaged: see brokerctl audit verify");
    }

    /** As {@link #environmentMiss} for variable {@code name} of {@code env}. */
    private VaultException variableMiss(Env env, String environment, String name) throws SQLException {
        int damaged = 0;
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id, name_index, name, meta FROM variable WHERE environment_id = ?")) {
            ps.setLong(1, env.id);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long id = rs.getLong(1);
                    try {
                        String stored = text(metadataKey, nullToEmpty(rs.getBytes(3)), env.id, id,
                                Aad.Field.VARIABLE_NAME);
                        decodeMeta(stored, nullToEmpty(rs.getBytes(4)), env.id, id);
                        if (!MessageDigest.isEqual(nullToEmpty(rs.getBytes(2)), variableIndex(env.id, stored))) {
                            damaged++;
                        }
                    } catch (AEADBadTagException e) {
                        damaged++;
                    }
                }
            }
        }
        if (damaged == 0) {
            return NotFoundException.variable(environment, name);
        }
        return new VaultIntegrityException("variable " + name + " was not found in environment '"
                + environment + "', and " + damaged + (damaged == 1 ? " variable in it failed its"
                        : " variables in it failed their")
                + " integrity check; the vault may have been tampered with or damaged: see brokerctl audit verify");
    }

    private Long environmentRow(byte[] index) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id FROM environment WHERE name_index = ?")) {
            ps.setBytes(1, index);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : null;
            }
        }
    }

    private void upsert(Env env, String environment, String name, SecretValue value, String description)
            throws SQLException, VaultException {
        byte[] index = variableIndex(env.id, name);
        Long existing = null;
        String keptDescription = "";
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id, meta FROM variable WHERE environment_id = ? AND name_index = ?")) {
            ps.setLong(1, env.id);
            ps.setBytes(2, index);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    existing = rs.getLong(1);
                    if (description == null) {
                        try {
                            keptDescription = decodeMeta(name, rs.getBytes(2), env.id, existing).description();
                        } catch (AEADBadTagException e) {
                            throw integrity(environment, name, "description");
                        }
                    }
                }
            }
        }
        long id = existing != null ? existing : newId();
        byte[] meta = encodeMeta(description != null ? description : keptDescription, env.id, id);
        byte[] sealedValue = seal(valueKey, value.revealBytes(), env.id, id, Aad.Field.VARIABLE_VALUE);
        if (existing != null) {
            try (PreparedStatement ps = connection.prepareStatement(
                    "UPDATE variable SET meta = ?, value = ? WHERE id = ?")) {
                ps.setBytes(1, meta);
                ps.setBytes(2, sealedValue);
                ps.setLong(3, id);
                ps.executeUpdate();
            }
        } else {
            try (PreparedStatement ps = connection.prepareStatement("INSERT INTO variable"
                    + "(id, environment_id, name_index, name, meta, value) VALUES (?, ?, ?, ?, ?, ?)")) {
                ps.setLong(1, id);
                ps.setLong(2, env.id);
                ps.setBytes(3, index);
                ps.setBytes(4, seal(metadataKey, name.getBytes(StandardCharsets.UTF_8), env.id, id,
                        Aad.Field.VARIABLE_NAME));
                ps.setBytes(5, meta);
                ps.setBytes(6, sealedValue);
                ps.executeUpdate();
            }
        }
    }

    private SecretValue resolveOne(Env env, String environment, String name)
            throws SQLException, VaultException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id, name, value FROM variable WHERE environment_id = ? AND name_index = ?")) {
            ps.setLong(1, env.id);
            ps.setBytes(2, variableIndex(env.id, name));
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw variableMiss(env, environment, name);
                }
                long id = rs.getLong(1);
                byte[] stored;
                try {
                    stored = open(metadataKey, rs.getBytes(2), env.id, id, Aad.Field.VARIABLE_NAME);
                } catch (AEADBadTagException e) {
                    throw integrity(environment, name, "name");
                }
                if (!MessageDigest.isEqual(stored, name.getBytes(StandardCharsets.UTF_8))) {
                    throw integrity(environment, name, "name index");
                }
                try {
                    return SecretValue.adopt(open(valueKey, rs.getBytes(3), env.id, id,
                            Aad.Field.VARIABLE_VALUE));
                } catch (AEADBadTagException e) {
                    throw integrity(environment, name, "value");
                }
            }
        }
    }

    private void resolveAll(Env env, String environment, Map<String, SecretValue> out)
            throws SQLException, VaultException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id, name, value FROM variable WHERE environment_id = ?")) {
            ps.setLong(1, env.id);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long id = rs.getLong(1);
                    String name;
                    try {
                        name = text(metadataKey, rs.getBytes(2), env.id, id, Aad.Field.VARIABLE_NAME);
                    } catch (AEADBadTagException e) {
                        throw new VaultIntegrityException("a variable in environment '" + environment
                                + "' (row " + id + ") failed its integrity check: its name does not"
                                + " decrypt; the vault file was modified or is corrupted");
                    }
                    try {
                        out.put(name, SecretValue.adopt(open(valueKey, rs.getBytes(3), env.id, id,
                                Aad.Field.VARIABLE_VALUE)));
                    } catch (AEADBadTagException e) {
                        throw integrity(environment, name, "value");
                    }
                }
            }
        }
    }

    private static VaultIntegrityException integrity(String environment, String name, String part) {
        return new VaultIntegrityException("variable " + name + " in environment '" + environment
                + "' failed its integrity check (" + part + "); the vault file was modified or is"
                + " corrupted. Restore it from a backup, or set the variable again");
    }

    private byte[] environmentIndex(String name) {
        return HmacSha256.mac(indexKey, ENV_INDEX_TAG, name.getBytes(StandardCharsets.UTF_8));
    }

    private byte[] variableIndex(long environmentId, String name) {
        return HmacSha256.mac(indexKey, VAR_INDEX_TAG,
                ByteBuffer.allocate(8).putLong(environmentId).array(),
                name.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * An environment's policy as stored: {@code prompt} or {@code auto}, then {@code ;max_grant_s=N}
     * and {@code ;run_profile=host} when set (sealed and authenticated like every field).
     */
    private record Rule(Policy policy, java.time.Duration maxGrant, boolean hostRuns) {
    }

    private byte[] encodePolicy(Rule rule, long environmentId) {
        String text = rule.policy().id() + (rule.maxGrant() == null ? "" : ";max_grant_s=" + rule.maxGrant().toSeconds())
                + (rule.hostRuns() ? ";run_profile=host" : "");
        return seal(metadataKey, text.getBytes(StandardCharsets.US_ASCII), environmentId, 0,
                Aad.Field.ENVIRONMENT_POLICY);
    }

    private Rule decodePolicy(byte[] sealed, long environmentId) throws AEADBadTagException {
        String[] parts = text(metadataKey, sealed, environmentId, 0, Aad.Field.ENVIRONMENT_POLICY).split(";");
        java.time.Duration maxGrant = null;
        boolean hostRuns = false;
        for (int i = 1; i < parts.length; i++) {
            if (parts[i].startsWith("max_grant_s=")) {
                maxGrant = java.time.Duration.ofSeconds(Long.parseLong(parts[i].substring(12)));
            } else if (parts[i].equals("run_profile=host")) {
                hostRuns = true;
            }
        }
        return new Rule(Policy.parse(parts[0]), maxGrant, hostRuns);
    }

    /** Variable metadata: 8 bytes updated-at (epoch ms) then the UTF-8 description. */
    private byte[] encodeMeta(String description, long environmentId, long id) {
        byte[] d = description.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + d.length);
        buf.putLong(clock.millis()).put(d);
        return seal(metadataKey, buf.array(), environmentId, id, Aad.Field.VARIABLE_META);
    }

    private VariableInfo decodeMeta(String name, byte[] sealed, long environmentId, long id)
            throws AEADBadTagException {
        byte[] plain = open(metadataKey, sealed, environmentId, id, Aad.Field.VARIABLE_META);
        if (plain.length < 8) {
            throw new AEADBadTagException("short metadata");
        }
        ByteBuffer buf = ByteBuffer.wrap(plain);
        Instant updated = Instant.ofEpochMilli(buf.getLong());
        String description = new String(plain, 8, plain.length - 8, StandardCharsets.UTF_8);
        return new VariableInfo(name, description, updated);
    }

    private byte[] seal(byte[] key, byte[] plain, long environmentId, long itemId, Aad.Field field) {
        return AesGcm.seal(key, plain, Aad.of(vaultId, environmentId, itemId, field), random);
    }

    private byte[] open(byte[] key, byte[] sealed, long environmentId, long itemId, Aad.Field field)
            throws AEADBadTagException {
        return AesGcm.open(key, sealed, Aad.of(vaultId, environmentId, itemId, field));
    }

    private String text(byte[] key, byte[] sealed, long environmentId, long itemId, Aad.Field field)
            throws AEADBadTagException {
        return new String(open(key, sealed, environmentId, itemId, field), StandardCharsets.UTF_8);
    }

    /** Random row ids: never reused after a delete, so an old ciphertext has no row to fit. */
    private long newId() {
        long id;
        do {
            id = random.nextLong() & Long.MAX_VALUE;
        } while (id == 0);
        return id;
    }
}

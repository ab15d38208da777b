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
        this.stateKey = Hkdf.subkey(dek, vaultId, STATE_KEY_PURPOSE);
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
        return read(() -> {
            List<EnvironmentInfo> items = new ArrayList<>();
            List<String> damaged = new ArrayList<>();
            try (PreparedStatement ps = connection.prepareStatement("SELECT e.id, e.name, e.policy,"
                    + " (SELECT count(*) FROM variable v WHERE v.environment_id = e.id), e.name_index, e.version"
                    + " FROM environment e")) {
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long id = rs.getLong(1);
                        long version = rs.getLong(6);
                        String name;
                        try {
                            name = text(metadataKey, rs.getBytes(2), id, 0, Aad.Field.ENVIRONMENT_NAME, version);
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
                            Rule rule = decodePolicy(rs.getBytes(3), id, version);
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
        return read(() -> {
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
        write(() -> {
            byte[] index = environmentIndex(name);
            if (environmentRow(index) != null) {
                throw new ConflictException("environment '" + name + "' already exists");
            }
            long id = newId();
            try (PreparedStatement ps = connection.prepareStatement(
                    "INSERT INTO environment(id, name_index, name, policy, version) VALUES (?, ?, ?, ?, ?)")) {
                ps.setLong(1, id);
                ps.setBytes(2, index);
                ps.setBytes(3, seal(metadataKey, name.getBytes(StandardCharsets.UTF_8), id, 0,
                        Aad.Field.ENVIRONMENT_NAME, version()));
                ps.setBytes(4, encodePolicy(new Rule(policy, null, false), id, version()));
                ps.setLong(5, version());
                ps.executeUpdate();
            }
            tracked(VaultState.ENVIRONMENT, id, null);
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
        write(() -> {
            Env env = findEnvironment(name);
            try (PreparedStatement ps = connection.prepareStatement(
                    "UPDATE environment SET name = ?, policy = ?, version = ? WHERE id = ?")) {
                ps.setBytes(1, seal(metadataKey, name.getBytes(StandardCharsets.UTF_8), env.id, 0,
                        Aad.Field.ENVIRONMENT_NAME, version()));
                ps.setBytes(2, encodePolicy(new Rule(policy, maxGrant, hostRuns), env.id, version()));
                ps.setLong(3, version());
                ps.setLong(4, env.id);
                ps.executeUpdate();
            }
            tracked(VaultState.ENVIRONMENT, env.id, env.version);
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
        return write(() -> {
            byte[] index = environmentIndex(name);
            Long id = environmentRow(index);
            if (id == null) {
                throw environmentMiss(name);
            }
            int count;
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT id, version FROM variable WHERE environment_id = ?")) {
                ps.setLong(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        untracked(VaultState.VARIABLE, rs.getLong(1), rs.getLong(2));
                    }
                }
            }
            untracked(VaultState.ENVIRONMENT, id, versions.environments.getOrDefault(id, 0L));
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
        return read(() -> {
            Env env = findEnvironment(environment);
            List<VariableInfo> items = new ArrayList<>();
            List<String> damaged = new ArrayList<>();
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT id, name, meta, name_index, version FROM variable WHERE environment_id = ?")) {
                ps.setLong(1, env.id);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long id = rs.getLong(1);
                        long version = rs.getLong(5);
                        String name;
                        try {
                            name = text(metadataKey, rs.getBytes(2), env.id, id, Aad.Field.VARIABLE_NAME, version);
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
                            items.add(decodeMeta(name, rs.getBytes(3), env.id, id, version));
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
        write(() -> {
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
        write(() -> {
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
        write(() -> {
            Env env = findEnvironment(environment);
            long id;
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT id, version FROM variable WHERE environment_id = ? AND name_index = ?")) {
                ps.setLong(1, env.id);
                ps.setBytes(2, variableIndex(env.id, name));
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw variableMiss(env, environment, name);
                    }
                    id = rs.getLong(1);
                    untracked(VaultState.VARIABLE, id, rs.getLong(2));
                }
            }
            try (PreparedStatement ps = connection.prepareStatement("DELETE FROM variable WHERE id = ?")) {
                ps.setLong(1, id);
                ps.executeUpdate();
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
            read(() -> {
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
        return read(() -> {
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
        write(() -> {
            Vault.writeKeyslot(connection, slot);
            appendIfAny(audit);
            return null;
        });
    }

    // ---------------------------------------------------------------- rekey and checkpoint

    /**
     * Replaces the vault key: a new random key, every environment, variable and audit entry
     * re-sealed under keys from it (the audit chain re-linked, the name index recomputed, the
     * vault state sealed afresh), and the keyslot replaced by one for {@code newPassphrase}, all in
     * one transaction. The old keyslot is gone with the old key: put back, it opens to a key that
     * decrypts nothing in this file. Run {@link #checkpoint} after it, so no old page stays in the
     * write-ahead log.
     *
     * @return how many items (environments, variables, audit entries) were re-sealed
     * @throws IllegalArgumentException when {@code params} are below the creation floor
     */
    public synchronized int rekey(char[] newPassphrase, KdfParams params, AuditRecord audit) throws VaultException {
        checkOpen();
        Passphrases.checkNew(newPassphrase);
        params.checkCreationFloor();
        byte[] newDek = new byte[AesGcm.KEY_BYTES];
        random.nextBytes(newDek);
        Vault.Keyslot slot = Vault.wrap(vaultId, 1, newDek, newPassphrase, params, random);
        byte[][] keys = {dek, valueKey, metadataKey, indexKey, auditKey, auditChainKey, stateKey};
        byte[][] old = new byte[keys.length][];
        for (int i = 0; i < keys.length; i++) {
            old[i] = keys[i].clone();
        }
        boolean done = false;
        try {
            int count = Sqlite.inWriteTransaction(connection, path, () -> {
                ensureState();
                checkAuditAgainstState();
                long counter = state.counter + 1;
                List<Object[]> envs = new ArrayList<>();
                try (PreparedStatement ps = connection.prepareStatement("SELECT id, name, policy, version FROM environment");
                        ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long id = rs.getLong(1);
                        long v = rs.getLong(4);
                        try {
                            envs.add(new Object[] {id, open(metadataKey, rs.getBytes(2), id, 0, Aad.Field.ENVIRONMENT_NAME, v),
                                open(metadataKey, rs.getBytes(3), id, 0, Aad.Field.ENVIRONMENT_POLICY, v)});
                        } catch (AEADBadTagException e) {
                            throw new VaultIntegrityException("environment row " + id + " failed its integrity check,"
                                    + " so the vault key cannot be replaced; nothing was changed" + RESTORE);
                        }
                    }
                }
                List<Object[]> vars = new ArrayList<>();
                List<Object[]> entries = new ArrayList<>();
                try {
                    try (PreparedStatement ps = connection.prepareStatement(
                            "SELECT id, environment_id, name, meta, value, version FROM variable");
                            ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            long id = rs.getLong(1);
                            long env = rs.getLong(2);
                            long v = rs.getLong(6);
                            try {
                                vars.add(new Object[] {id, env, open(metadataKey, rs.getBytes(3), env, id, Aad.Field.VARIABLE_NAME, v),
                                    open(metadataKey, rs.getBytes(4), env, id, Aad.Field.VARIABLE_META, v),
                                    open(valueKey, rs.getBytes(5), env, id, Aad.Field.VARIABLE_VALUE, v)});
                            } catch (AEADBadTagException e) {
                                throw new VaultIntegrityException("variable row " + id + " failed its integrity check,"
                                        + " so the vault key cannot be replaced; nothing was changed" + RESTORE);
                            }
                        }
                    }
                    try (PreparedStatement ps = connection.prepareStatement("SELECT seq, entry FROM audit ORDER BY seq");
                            ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            long seq = rs.getLong(1);
                            try {
                                entries.add(new Object[] {seq, open(auditKey, rs.getBytes(2), 0, seq, Aad.Field.AUDIT_ENTRY)});
                            } catch (AEADBadTagException e) {
                                throw new VaultIntegrityException("audit entry " + seq + " does not decrypt, so the vault"
                                        + " key cannot be replaced; nothing was changed. Check it with: brokerctl audit verify");
                            }
                        }
                    }
                    installKeys(newDek);
                    VaultState fresh = new VaultState();
                    fresh.counter = counter;
                    try (PreparedStatement ps = connection.prepareStatement(
                            "UPDATE environment SET name_index = ?, name = ?, policy = ?, version = ? WHERE id = ?")) {
                        for (Object[] e : envs) {
                            long id = (Long) e[0];
                            byte[] name = (byte[]) e[1];
                            ps.setBytes(1, HmacSha256.mac(indexKey, ENV_INDEX_TAG, name));
                            ps.setBytes(2, seal(metadataKey, name, id, 0, Aad.Field.ENVIRONMENT_NAME, counter));
                            ps.setBytes(3, seal(metadataKey, (byte[]) e[2], id, 0, Aad.Field.ENVIRONMENT_POLICY, counter));
                            ps.setLong(4, counter);
                            ps.setLong(5, id);
                            ps.executeUpdate();
                            fresh.toggle(stateKey, VaultState.ENVIRONMENT, id, counter, true);
                        }
                    }
                    try (PreparedStatement ps = connection.prepareStatement(
                            "UPDATE variable SET name_index = ?, name = ?, meta = ?, value = ?, version = ? WHERE id = ?")) {
                        for (Object[] x : vars) {
                            long id = (Long) x[0];
                            long env = (Long) x[1];
                            byte[] name = (byte[]) x[2];
                            ps.setBytes(1, HmacSha256.mac(indexKey, VAR_INDEX_TAG,
                                    ByteBuffer.allocate(8).putLong(env).array(), name));
                            ps.setBytes(2, seal(metadataKey, name, env, id, Aad.Field.VARIABLE_NAME, counter));
                            ps.setBytes(3, seal(metadataKey, (byte[]) x[3], env, id, Aad.Field.VARIABLE_META, counter));
                            ps.setBytes(4, seal(valueKey, (byte[]) x[4], env, id, Aad.Field.VARIABLE_VALUE, counter));
                            ps.setLong(5, counter);
                            ps.setLong(6, id);
                            ps.executeUpdate();
                            fresh.toggle(stateKey, VaultState.VARIABLE, id, counter, true);
                        }
                    }
                    AuditChain.Head head = AuditChain.Head.genesis();
                    try (PreparedStatement ps = connection.prepareStatement("UPDATE audit SET entry = ?, mac = ? WHERE seq = ?")) {
                        for (Object[] e : entries) {
                            long seq = (Long) e[0];
                            byte[] sealed = seal(auditKey, (byte[]) e[1], 0, seq, Aad.Field.AUDIT_ENTRY);
                            head = new AuditChain.Head(seq, AuditChain.link(auditChainKey, head.mac(), seq, sealed));
                            ps.setBytes(1, sealed);
                            ps.setBytes(2, head.mac());
                            ps.setLong(3, seq);
                            ps.executeUpdate();
                        }
                    }
                    writeAuditHead(head);
                    Vault.writeKeyslot(connection, slot);
                    working = fresh;
                    fresh.auditSeq = head.seq();
                    fresh.auditMac = head.mac();
                    appendIfAny(audit);
                    writeState(fresh);
                    return envs.size() + vars.size() + entries.size();
                } finally {
                    for (Object[] x : vars) {
                        Arrays.fill((byte[]) x[4], (byte) 0);
                    }
                }
            });
            done = true;
            return count;
        } finally {
            working = null;
            state = null;   // verified afresh, under the new keys, on the next use
            versions = null;
            if (!done) {
                for (int i = 0; i < keys.length; i++) {
                    System.arraycopy(old[i], 0, keys[i], 0, keys[i].length);
                }
            }
            for (byte[] o : old) {
                Arrays.fill(o, (byte) 0);
            }
            Arrays.fill(newDek, (byte) 0);
        }
    }

    /** Overwrites this session's keys, in place, with {@code newDek} and the subkeys from it. */
    private void installKeys(byte[] newDek) {
        System.arraycopy(newDek, 0, dek, 0, dek.length);
        String[] purposes = {"brokerctl/v1/value", "brokerctl/v1/metadata", "brokerctl/v1/name-index",
            "brokerctl/v1/audit", "brokerctl/v1/audit-chain", STATE_KEY_PURPOSE};
        byte[][] into = {valueKey, metadataKey, indexKey, auditKey, auditChainKey, stateKey};
        for (int i = 0; i < purposes.length; i++) {
            byte[] k = Hkdf.subkey(newDek, vaultId, purposes[i]);
            System.arraycopy(k, 0, into[i], 0, k.length);
            Arrays.fill(k, (byte) 0);
        }
    }

    /**
     * {@code PRAGMA wal_checkpoint(TRUNCATE)}: every committed page copied into vault.db and the
     * write-ahead log emptied, so an old keyslot (or old ciphertexts) no longer sit in
     * {@code vault.db-wal}.
     *
     * @return true when the log was emptied; false when another connection's open read kept part
     *     of it (a running daemon in the middle of a request): run it again
     */
    public synchronized boolean checkpoint() throws VaultException {
        checkOpen();
        try (java.sql.Statement st = connection.createStatement();
                ResultSet rs = st.executeQuery("PRAGMA wal_checkpoint(TRUNCATE)")) {
            return rs.next() && rs.getInt(1) == 0;
        } catch (SQLException e) {
            throw Sqlite.translate(e, path);
        }
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
        return write(() -> appendAudit(records));
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

    /**
     * The audit head, checked against the table: present, nothing past it, the count and the last
     * MAC it binds. Whether it is the head the vault state seals is {@link #verifyState}'s check.
     */
    private AuditChain.Head checkedAuditEnd() throws SQLException, VaultException {
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
        return head;
    }

    /**
     * Inside a write transaction, after its check of the audit end ({@link #write}, {@link #rekey}):
     * the chain goes on from the working state's head, which this transaction holds the write lock
     * on.
     */
    private long appendAudit(List<AuditRecord> records) throws SQLException, VaultException {
        AuditChain.Head head = new AuditChain.Head(working.auditSeq, working.auditMac);
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
        working.auditSeq = head.seq();
        working.auditMac = head.mac();
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
        return read(() -> {
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
            AuditVerification chain = AuditChain.verify(auditChainKey, rows, head, (sealed, seq) -> {
                try {
                    open(auditKey, sealed, 0, seq, Aad.Field.AUDIT_ENTRY);
                    return true;
                } catch (AEADBadTagException e) {
                    return false;
                }
            });
            if (!chain.isIntact()) {
                return chain;
            }
            // an intact chain can still be an old one: its head must be the one the vault state seals
            try {
                ensureState();
                checkAuditAgainstState();
            } catch (VaultIntegrityException e) {
                return AuditVerification.broken(chain.verified(), 0, e.getMessage());
            }
            return chain;
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
     * Brings a format 1 or 2 vault to format 3 in one transaction. From format 1, the audit table
     * and genesis head are created if the vault has neither (the one thing that cannot be told
     * apart: a format 1 vault whose audit log was wiped before its first unlock by a newer version
     * looks like one that never had a log). Then every environment and variable row gets version
     * 1, its fields re-sealed with the version in their AAD; the vault state is sealed over them
     * and the audit head; the keyslot is re-wrapped with format 3 in its AAD. From then on the
     * keyslot pins format 3, so none of this can be made to happen again by editing the header.
     */
    void upgrade(int fromFormat, Vault.Keyslot rewrapped) throws VaultException {
        checkOpen();
        boolean done = false;
        try {
            Sqlite.inWriteTransaction(connection, path, () -> {
                byte[] version = readMetaValue("format_version");
                if (version != null && Integer.toString(Vault.FORMAT_VERSION)
                        .equals(new String(version, StandardCharsets.US_ASCII))) {
                    return null;   // another process upgraded it since this one read the header
                }
                if (fromFormat == Vault.LEGACY_FORMAT_VERSION && !auditTableExists()) {
                    // as format 1 did on first use: a head without a table stays visible as damage
                    try (java.sql.Statement st = connection.createStatement()) {
                        st.execute(Schema.AUDIT);
                    }
                    if (readMetaValue(Schema.AUDIT_HEAD_KEY) == null) {
                        writeAuditHead(AuditChain.Head.genesis());
                    }
                }
                requireAuditTable();
                AuditChain.Head head = readAuditHead();
                if (head == null) {
                    throw new VaultIntegrityException("the audit head of " + path + " is missing or was"
                            + " modified, so the vault cannot be upgraded to format " + Vault.FORMAT_VERSION
                            + "; the vault file was modified. Restore it from a backup");
                }
                try (java.sql.Statement st = connection.createStatement()) {
                    for (String table : List.of("environment", "variable")) {
                        if (!hasColumn(table, "version")) {
                            st.execute("ALTER TABLE " + table + " ADD COLUMN version INTEGER NOT NULL DEFAULT 0");
                        }
                    }
                }
                VaultState fresh = new VaultState();
                fresh.counter = 1;
                fresh.auditSeq = head.seq();
                fresh.auditMac = head.mac();
                resealUnversioned(fresh);
                writeState(fresh);
                Vault.writeKeyslot(connection, rewrapped);
                try (PreparedStatement ps = connection.prepareStatement(
                        "UPDATE meta SET value = ? WHERE key = 'format_version'")) {
                    ps.setBytes(1, Integer.toString(Vault.FORMAT_VERSION).getBytes(StandardCharsets.US_ASCII));
                    ps.executeUpdate();
                }
                return null;
            });
            done = true;
        } finally {
            state = null;   // verified afresh on the next use
            versions = null;
            if (!done) {
                close();
            }
        }
    }

    private boolean hasColumn(String table, String column) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT 1 FROM pragma_table_info(?) WHERE name = ?")) {
            ps.setString(1, table);
            ps.setString(2, column);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Format 2 rows, sealed without a version, re-sealed at version 1 into {@code fresh}. */
    private void resealUnversioned(VaultState fresh) throws SQLException, VaultException {
        try (PreparedStatement read = connection.prepareStatement("SELECT id, name, policy FROM environment");
                PreparedStatement write = connection.prepareStatement(
                        "UPDATE environment SET name = ?, policy = ?, version = 1 WHERE id = ?");
                ResultSet rs = read.executeQuery()) {
            while (rs.next()) {
                long id = rs.getLong(1);
                byte[] name;
                byte[] policy;
                try {
                    name = open(metadataKey, rs.getBytes(2), id, 0, Aad.Field.ENVIRONMENT_NAME);
                    policy = open(metadataKey, rs.getBytes(3), id, 0, Aad.Field.ENVIRONMENT_POLICY);
                } catch (AEADBadTagException e) {
                    throw new VaultIntegrityException("an environment (row " + id + ") of " + path + " failed its"
                            + " integrity check, so the vault cannot be upgraded to format " + Vault.FORMAT_VERSION
                            + "; restore it from a backup");
                }
                write.setBytes(1, seal(metadataKey, name, id, 0, Aad.Field.ENVIRONMENT_NAME, 1));
                write.setBytes(2, seal(metadataKey, policy, id, 0, Aad.Field.ENVIRONMENT_POLICY, 1));
                write.setLong(3, id);
                write.executeUpdate();
                fresh.toggle(stateKey, VaultState.ENVIRONMENT, id, 1, true);
            }
        }
        try (PreparedStatement read = connection.prepareStatement(
                "SELECT id, environment_id, name, meta, value FROM variable");
                PreparedStatement write = connection.prepareStatement(
                        "UPDATE variable SET name = ?, meta = ?, value = ?, version = 1 WHERE id = ?");
                ResultSet rs = read.executeQuery()) {
            while (rs.next()) {
                long id = rs.getLong(1);
                long env = rs.getLong(2);
                byte[] name = null;
                byte[] meta = null;
                byte[] value = null;
                try {
                    name = open(metadataKey, rs.getBytes(3), env, id, Aad.Field.VARIABLE_NAME);
                    meta = open(metadataKey, rs.getBytes(4), env, id, Aad.Field.VARIABLE_META);
                    value = open(valueKey, rs.getBytes(5), env, id, Aad.Field.VARIABLE_VALUE);
                    write.setBytes(1, seal(metadataKey, name, env, id, Aad.Field.VARIABLE_NAME, 1));
                    write.setBytes(2, seal(metadataKey, meta, env, id, Aad.Field.VARIABLE_META, 1));
                    write.setBytes(3, seal(valueKey, value, env, id, Aad.Field.VARIABLE_VALUE, 1));
                } catch (AEADBadTagException e) {
                    throw new VaultIntegrityException("a variable (row " + id + ") of " + path + " failed its"
                            + " integrity check, so the vault cannot be upgraded to format " + Vault.FORMAT_VERSION
                            + "; restore it from a backup");
                } finally {
                    if (value != null) {
                        Arrays.fill(value, (byte) 0);
                    }
                }
                write.setLong(4, id);
                write.executeUpdate();
                fresh.toggle(stateKey, VaultState.VARIABLE, id, 1, true);
            }
        }
    }

    // ---- the sealed vault state (format 3; see VaultState)

    static final String STATE_KEY_PURPOSE = "brokerctl/v1/vault-state";
    /** {@code meta} key of the sealed vault state. */
    static final String STATE_META_KEY = "vault_state";

    private final byte[] stateKey;
    /** The state as last verified against the file (null: verify before the next use). */
    private VaultState state;
    /** The state the current write transaction builds; null outside one. */
    private VaultState working;
    /** Each live row's version, as last verified: names the row that disagrees when a later check fails. */
    private Versions versions;
    private long verifiedDataVersion;
    /**
     * The audit table ends where {@link #state}'s head says: checked by the first write after every
     * re-verification of the state, then kept true by this connection's own appends. A whole pass
     * over the table (its entry count) per write would grow with the log: ~16 ms at 100,000
     * entries, twice per run.
     */
    private boolean auditEndVerified;
    /** The vault's files as this session's last commit left them; null before its first. */
    private VaultFiles files;
    /**
     * Every this many writes the rows and the audit end are verified again from the file, whatever
     * the files look like: a change the files' metadata does not show (a page stored through a
     * shared mapping already dirty, a write in the moment around a commit) is seen within as many
     * appends. About 16 ms at 100,000 audit entries, once per 256 writes.
     */
    static final int FULL_CHECK_EVERY = 256;
    private int writesSinceFullCheck;
    private boolean changing;

    private static final class Versions {
        final Map<Long, Long> environments = new java.util.HashMap<>();
        final Map<Long, Long> variables = new java.util.HashMap<>();

        Map<Long, Long> of(byte table) {
            return table == VaultState.ENVIRONMENT ? environments : variables;
        }
    }

    /** A read snapshot whose rows agree with the sealed state (checked when another connection wrote). */
    private <T> T read(Sqlite.Work<T> work) throws VaultException {
        try {
            return Sqlite.inReadTransaction(connection, path, () -> {
                ensureState();
                return work.run();
            });
        } catch (VaultIntegrityException e) {
            state = null;
            throw e;
        }
    }

    /**
     * A write transaction: the state is verified first, the counter advances by one (the version
     * of every row this write touches), and the new state is sealed before the commit, so a change
     * and the state that covers it commit together or not at all.
     */
    private <T> T write(Sqlite.Work<T> work) throws VaultException {
        boolean ok = false;
        try {
            checkFilesSinceLastCommit();
            T result = Sqlite.inWriteTransaction(connection, path, () -> {
                ensureState();
                if (!auditEndVerified) {
                    checkAuditAgainstState();
                    auditEndVerified = true;
                }
                working = state.copy();
                changing = true;
                working.counter++;
                T out = work.run();
                writeState(working);
                return out;
            });
            state = working;
            ok = true;
            files = VaultFiles.of(path);   // after the commit, and SQLite's checkpoint in it
            writesSinceFullCheck++;
            return result;
        } finally {
            working = null;
            if (!ok) {
                state = null;
                if (changing) {
                    versions = null;   // they may hold the rolled-back change
                }
            }
            changing = false;
        }
    }

    /**
     * Before a write transaction begins: unless the files are as this session's last commit left
     * them (and the periodic full check is not due), everything is verified again, from the file.
     * A change PRAGMA data_version does not show (a page written into vault.db around SQLite's
     * locking) shows in the file's change time; this connection's page cache may hold the page as
     * it was, so the cache is let go first, outside any transaction (one holds page 1). A session
     * that has not written yet counts as changed: its reads filled the cache. A write-ahead log
     * replaced under this connection is refused: what it writes would go to a file no other
     * process reads.
     */
    private void checkFilesSinceLastCommit() throws VaultException {
        VaultFiles now = VaultFiles.of(path);
        if (files != null && now.equals(files) && writesSinceFullCheck < FULL_CHECK_EVERY) {
            return;
        }
        if (files != null && now.logReplacedSince(files)) {
            throw new VaultIntegrityException("the write-ahead log of " + path + " (" + path.getFileName()
                    + "-wal, -shm) was removed or replaced while this process had the vault open, so what it"
                    + " writes would go to a file no other process reads; nothing was written. Stop the"
                    + " processes that have the vault open (brokerctl stop for the daemon), then check it:"
                    + " brokerctl audit verify");
        }
        try (java.sql.Statement st = connection.createStatement()) {
            st.execute("PRAGMA shrink_memory");
        } catch (SQLException e) {
            throw Sqlite.translate(e, path);
        }
        state = null;   // rows and the audit end verified again in the transaction
        writesSinceFullCheck = 0;
    }

    /** The version of the rows the current write touches. */
    private long version() {
        return working.counter;
    }

    /** A row written at {@link #version()}; {@code previous} is its version before, null for a new row. */
    private void tracked(byte table, long id, Long previous) {
        if (previous != null) {
            working.toggle(stateKey, table, id, previous, false);
        }
        working.toggle(stateKey, table, id, version(), true);
        versions.of(table).put(id, version());
    }

    private void untracked(byte table, long id, long version) {
        working.toggle(stateKey, table, id, version, false);
        versions.of(table).remove(id);
    }

    private void writeState(VaultState s) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)")) {
            ps.setString(1, STATE_META_KEY);
            ps.setBytes(2, seal(stateKey, s.encode(), 0, 0, Aad.Field.VAULT_STATE));
            ps.executeUpdate();
        }
    }

    /** The state of an empty new vault (counter 0, the audit genesis), sealed. */
    static byte[] sealedInitialState(byte[] vaultId, byte[] dek, SecureRandom random) {
        byte[] key = Hkdf.subkey(dek, vaultId, STATE_KEY_PURPOSE);
        try {
            return AesGcm.seal(key, new VaultState().encode(), Aad.of(vaultId, 0, 0, Aad.Field.VAULT_STATE), random);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    private long dataVersion() throws SQLException {
        try (java.sql.Statement st = connection.createStatement();
                ResultSet rs = st.executeQuery("PRAGMA data_version")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Inside a transaction: re-checks the rows against the sealed state unless this connection
     * verified them and no other connection has committed since ({@code PRAGMA data_version}).
     */
    private void ensureState() throws SQLException, VaultException {
        long dv = dataVersion();
        if (state != null && dv == verifiedDataVersion) {
            return;
        }
        Versions before = versions;   // kept when the check fails, to name the row on the next try too
        state = null;
        auditEndVerified = false;   // another connection may have changed the audit table too
        Versions now = new Versions();
        VaultState verified = verifyState(before, now);
        state = verified;
        versions = now;
        verifiedDataVersion = dv;
    }

    private static final String RESTORE = "; the vault file was modified. Check it with: brokerctl audit verify,"
            + " and restore it from a backup";

    /** Reads every row's (id, version) into {@code now} and compares the set with the sealed state. */
    private VaultState verifyState(Versions before, Versions now) throws SQLException, VaultException {
        for (String table : List.of("meta", "environment", "variable", "audit")) {
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")) {
                ps.setString(1, table);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new VaultIntegrityException("the " + table + " table of " + path
                                + " is missing (it was dropped)" + RESTORE);
                    }
                }
            }
        }
        byte[] sealed = readMetaValue(STATE_META_KEY);
        VaultState stored;
        try {
            if (sealed == null) {
                throw new AEADBadTagException("missing");
            }
            stored = VaultState.decode(open(stateKey, sealed, 0, 0, Aad.Field.VAULT_STATE));
        } catch (AEADBadTagException | IllegalArgumentException e) {
            throw new VaultIntegrityException("the sealed vault state of " + path + " is "
                    + (sealed == null ? "missing" : "damaged (it does not decrypt)") + RESTORE);
        }
        VaultState actual = new VaultState();
        javax.crypto.Mac tagger = VaultState.tagger(stateKey);
        long newest = 0;
        for (byte table : new byte[] {VaultState.ENVIRONMENT, VaultState.VARIABLE}) {
            try (PreparedStatement ps = connection.prepareStatement("SELECT id, version FROM "
                    + tableName(table));
                    ResultSet rs = ps.executeQuery()) {
                Map<Long, Long> into = now.of(table);
                while (rs.next()) {
                    long id = rs.getLong(1);
                    long v = rs.getLong(2);
                    into.put(id, v);
                    actual.toggle(tagger, table, id, v, true);
                    newest = Math.max(newest, v);
                }
            }
        }
        if (newest > stored.counter) {
            throw new VaultIntegrityException("the sealed vault state of " + path + " is older than its rows"
                    + " (a row has version " + newest + ", the state ends at " + stored.counter
                    + "): an old copy of the state was put back" + RESTORE);
        }
        for (byte table : new byte[] {VaultState.ENVIRONMENT, VaultState.VARIABLE}) {
            long have = table == VaultState.ENVIRONMENT ? actual.environments : actual.variables;
            long want = table == VaultState.ENVIRONMENT ? stored.environments : stored.variables;
            if (have == want && stored.sameTags(table, table == VaultState.ENVIRONMENT
                    ? actual.environmentTags : actual.variableTags)) {
                continue;
            }
            String kind = tableName(table);
            String which = before == null ? null : whichRow(table, before.of(table), now.of(table));
            String what;
            if (have > want) {
                what = (have - want) + " " + kind + " row" + (have - want == 1 ? " is" : "s are")
                        + " in the file that the sealed vault state does not record: a deleted row was put back";
            } else if (have < want) {
                what = (want - have) + " " + kind + " row" + (want - have == 1 ? " is" : "s are")
                        + " missing from the file although the sealed vault state records them: deleted"
                        + " behind brokerctl's back";
            } else {
                what = (table == VaultState.ENVIRONMENT ? "an " : "a ") + kind + " row is not at the version the sealed vault state records: an older"
                        + " copy of it was written back (a replayed or rolled-back row)";
            }
            throw new VaultIntegrityException("the vault " + path + " failed its integrity check: " + what
                    + (which == null ? "" : " (" + which + ")") + RESTORE);
        }
        return stored;
    }

    /**
     * The audit head is the one the verified state seals. Checked before every write and by
     * {@link #verifyAudit}; reads go on with a damaged audit log (their rows are checked on their
     * own), so what is in the vault can still be seen, while nothing more can be changed.
     */
    private void checkAuditAgainstState() throws SQLException, VaultException {
        VaultState stored = state;
        AuditChain.Head head = checkedAuditEnd();
        if (head.seq() != stored.auditSeq || !MessageDigest.isEqual(head.mac(), stored.auditMac)) {
            throw new VaultIntegrityException("the audit head of " + path + " does not match the sealed vault"
                    + " state (the head says entry " + head.seq() + ", the state says " + stored.auditSeq
                    + "): an old head was put back"
                    + " or the log was cut" + RESTORE);
        }
    }

    private static String tableName(byte table) {
        return table == VaultState.ENVIRONMENT ? "environment" : "variable";
    }

    /** Names the row that differs from what this session last verified, when there is exactly one. */
    private String whichRow(byte table, Map<Long, Long> before, Map<Long, Long> now) {
        List<String> diffs = new ArrayList<>();
        for (Map.Entry<Long, Long> e : now.entrySet()) {
            Long was = before.get(e.getKey());
            if (was == null) {
                diffs.add(describeRow(table, e.getKey(), e.getValue()) + " is back at version " + e.getValue());
            } else if (!was.equals(e.getValue())) {
                diffs.add(describeRow(table, e.getKey(), e.getValue()) + " is at version " + e.getValue()
                        + ", this vault last wrote it at " + was);
            }
        }
        for (Long id : before.keySet()) {
            if (!now.containsKey(id)) {
                diffs.add(tableName(table) + " row " + id + " is gone");
            }
        }
        return diffs.isEmpty() ? null : String.join("; ", diffs.subList(0, Math.min(3, diffs.size())))
                + (diffs.size() > 3 ? "; and " + (diffs.size() - 3) + " more" : "");
    }

    /** "environment 'prod'" or "variable API_KEY in 'prod'", when the row decrypts; else its row id. */
    private String describeRow(byte table, long id, long version) {
        try {
            if (table == VaultState.ENVIRONMENT) {
                try (PreparedStatement ps = connection.prepareStatement("SELECT name FROM environment WHERE id = ?")) {
                    ps.setLong(1, id);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            return "environment '" + text(metadataKey, rs.getBytes(1), id, 0,
                                    Aad.Field.ENVIRONMENT_NAME, version) + "'";
                        }
                    }
                }
            } else {
                try (PreparedStatement ps = connection.prepareStatement("SELECT v.name, v.environment_id, e.name,"
                        + " e.version FROM variable v LEFT JOIN environment e ON e.id = v.environment_id WHERE v.id = ?")) {
                    ps.setLong(1, id);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            long env = rs.getLong(2);
                            String name = text(metadataKey, rs.getBytes(1), env, id, Aad.Field.VARIABLE_NAME, version);
                            String envName = rs.getBytes(3) == null ? "?" : text(metadataKey, rs.getBytes(3), env, 0,
                                    Aad.Field.ENVIRONMENT_NAME, rs.getLong(4));
                            return "variable " + name + " in '" + envName + "'";
                        }
                    }
                }
            }
        } catch (SQLException | AEADBadTagException e) {
            // fall through to the row id
        }
        return tableName(table) + " row " + id;
    }

    /**
     * The state counter: how many writes this vault has committed since format 3. The daemon
     * remembers the highest it saw to notice a whole-file rollback.
     */
    public synchronized long stateCounter() throws VaultException {
        checkOpen();
        return read(() -> state.counter);
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
        Arrays.fill(stateKey, (byte) 0);
        state = null;
        versions = null;
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

    /** HMAC of a rollback mark's counter (see {@link StateMark}), under a key from the vault key. */
    synchronized byte[] markMac(long counter) {
        checkOpen();
        byte[] key = Hkdf.subkey(dek, vaultId, "brokerctl/v1/state-mark");
        try {
            return HmacSha256.mac(key, vaultId, ByteBuffer.allocate(8).putLong(counter).array());
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    boolean hasVaultId(byte[] id) {
        return MessageDigest.isEqual(vaultId, id);
    }

    byte[] vaultIdCopy() {
        return vaultId.clone();
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

    private record Env(long id, Rule rule, long version) {
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the vault session is closed (locked)");
        }
    }

    private Env findEnvironment(String name) throws SQLException, VaultException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id, name, policy, version FROM environment WHERE name_index = ?")) {
            ps.setBytes(1, environmentIndex(name));
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw environmentMiss(name);
                }
                long id = rs.getLong(1);
                long version = rs.getLong(4);
                try {
                    byte[] stored = open(metadataKey, rs.getBytes(2), id, 0, Aad.Field.ENVIRONMENT_NAME, version);
                    if (!MessageDigest.isEqual(stored, name.getBytes(StandardCharsets.UTF_8))) {
                        throw new VaultIntegrityException("environment '" + name
                                + "' failed its integrity check: its index points to another row;"
                                + " the vault file was modified. Restore it from a backup");
                    }
                    return new Env(id, decodePolicy(rs.getBytes(3), id, version), version);
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
                "SELECT id, name_index, name, policy, version FROM environment");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                long id = rs.getLong(1);
                long version = rs.getLong(5);
                try {
                    byte[] stored = open(metadataKey, nullToEmpty(rs.getBytes(3)), id, 0, Aad.Field.ENVIRONMENT_NAME,
                            version);
                    decodePolicy(nullToEmpty(rs.getBytes(4)), id, version);
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
                "SELECT id, name_index, name, meta, version FROM variable WHERE environment_id = ?")) {
            ps.setLong(1, env.id);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long id = rs.getLong(1);
                    long version = rs.getLong(5);
                    try {
                        String stored = text(metadataKey, nullToEmpty(rs.getBytes(3)), env.id, id,
                                Aad.Field.VARIABLE_NAME, version);
                        decodeMeta(stored, nullToEmpty(rs.getBytes(4)), env.id, id, version);
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
        long existingVersion = 0;
        String keptDescription = "";
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id, meta, version FROM variable WHERE environment_id = ? AND name_index = ?")) {
            ps.setLong(1, env.id);
            ps.setBytes(2, index);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    existing = rs.getLong(1);
                    existingVersion = rs.getLong(3);
                    if (description == null) {
                        try {
                            keptDescription = decodeMeta(name, rs.getBytes(2), env.id, existing, existingVersion)
                                    .description();
                        } catch (AEADBadTagException e) {
                            throw integrity(environment, name, "description");
                        }
                    }
                }
            }
        }
        long id = existing != null ? existing : newId();
        long version = version();
        byte[] meta = encodeMeta(description != null ? description : keptDescription, env.id, id, version);
        byte[] sealedValue = seal(valueKey, value.revealBytes(), env.id, id, Aad.Field.VARIABLE_VALUE, version);
        byte[] sealedName = seal(metadataKey, name.getBytes(StandardCharsets.UTF_8), env.id, id,
                Aad.Field.VARIABLE_NAME, version);
        if (existing != null) {
            try (PreparedStatement ps = connection.prepareStatement(
                    "UPDATE variable SET name = ?, meta = ?, value = ?, version = ? WHERE id = ?")) {
                ps.setBytes(1, sealedName);
                ps.setBytes(2, meta);
                ps.setBytes(3, sealedValue);
                ps.setLong(4, version);
                ps.setLong(5, id);
                ps.executeUpdate();
            }
            tracked(VaultState.VARIABLE, id, existingVersion);
        } else {
            try (PreparedStatement ps = connection.prepareStatement("INSERT INTO variable"
                    + "(id, environment_id, name_index, name, meta, value, version) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
                ps.setLong(1, id);
                ps.setLong(2, env.id);
                ps.setBytes(3, index);
                ps.setBytes(4, sealedName);
                ps.setBytes(5, meta);
                ps.setBytes(6, sealedValue);
                ps.setLong(7, version);
                ps.executeUpdate();
            }
            tracked(VaultState.VARIABLE, id, null);
        }
    }

    private SecretValue resolveOne(Env env, String environment, String name)
            throws SQLException, VaultException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id, name, value, version FROM variable WHERE environment_id = ? AND name_index = ?")) {
            ps.setLong(1, env.id);
            ps.setBytes(2, variableIndex(env.id, name));
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw variableMiss(env, environment, name);
                }
                long id = rs.getLong(1);
                long version = rs.getLong(4);
                byte[] stored;
                try {
                    stored = open(metadataKey, rs.getBytes(2), env.id, id, Aad.Field.VARIABLE_NAME, version);
                } catch (AEADBadTagException e) {
                    throw integrity(environment, name, "name");
                }
                if (!MessageDigest.isEqual(stored, name.getBytes(StandardCharsets.UTF_8))) {
                    throw integrity(environment, name, "name index");
                }
                try {
                    return SecretValue.adopt(open(valueKey, rs.getBytes(3), env.id, id,
                            Aad.Field.VARIABLE_VALUE, version));
                } catch (AEADBadTagException e) {
                    throw integrity(environment, name, "value");
                }
            }
        }
    }

    private void resolveAll(Env env, String environment, Map<String, SecretValue> out)
            throws SQLException, VaultException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id, name, value, version FROM variable WHERE environment_id = ?")) {
            ps.setLong(1, env.id);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long id = rs.getLong(1);
                    long version = rs.getLong(4);
                    String name;
                    try {
                        name = text(metadataKey, rs.getBytes(2), env.id, id, Aad.Field.VARIABLE_NAME, version);
                    } catch (AEADBadTagException e) {
                        throw new VaultIntegrityException("a variable in environment '" + environment
                                + "' (row " + id + ") failed its integrity check: its name does not"
                                + " decrypt; the vault file was modified or is corrupted");
                    }
                    try {
                        out.put(name, SecretValue.adopt(open(valueKey, rs.getBytes(3), env.id, id,
                                Aad.Field.VARIABLE_VALUE, version)));
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

    private byte[] encodePolicy(Rule rule, long environmentId, long version) {
        String text = rule.policy().id() + (rule.maxGrant() == null ? "" : ";max_grant_s=" + rule.maxGrant().toSeconds())
                + (rule.hostRuns() ? ";run_profile=host" : "");
        return seal(metadataKey, text.getBytes(StandardCharsets.US_ASCII), environmentId, 0,
                Aad.Field.ENVIRONMENT_POLICY, version);
    }

    private Rule decodePolicy(byte[] sealed, long environmentId, long version) throws AEADBadTagException {
        return parsePolicy(text(metadataKey, sealed, environmentId, 0, Aad.Field.ENVIRONMENT_POLICY, version));
    }

    private static Rule parsePolicy(String stored) {
        String[] parts = stored.split(";");
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
    private byte[] encodeMeta(String description, long environmentId, long id, long version) {
        byte[] d = description.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + d.length);
        buf.putLong(clock.millis()).put(d);
        return seal(metadataKey, buf.array(), environmentId, id, Aad.Field.VARIABLE_META, version);
    }

    private VariableInfo decodeMeta(String name, byte[] sealed, long environmentId, long id, long version)
            throws AEADBadTagException {
        byte[] plain = open(metadataKey, sealed, environmentId, id, Aad.Field.VARIABLE_META, version);
        if (plain.length < 8) {
            throw new AEADBadTagException("short metadata");
        }
        ByteBuffer buf = ByteBuffer.wrap(plain);
        Instant updated = Instant.ofEpochMilli(buf.getLong());
        String description = new String(plain, 8, plain.length - 8, StandardCharsets.UTF_8);
        return new VariableInfo(name, description, updated);
    }

    /** Seals an unversioned item (the audit log's entries and head, the vault state). */
    private byte[] seal(byte[] key, byte[] plain, long environmentId, long itemId, Aad.Field field) {
        return AesGcm.seal(key, plain, Aad.of(vaultId, environmentId, itemId, field), random);
    }

    private byte[] open(byte[] key, byte[] sealed, long environmentId, long itemId, Aad.Field field)
            throws AEADBadTagException {
        return AesGcm.open(key, sealed, Aad.of(vaultId, environmentId, itemId, field));
    }

    /** Seals a field of an environment or variable row written at {@code version} (format 3). */
    private byte[] seal(byte[] key, byte[] plain, long environmentId, long itemId, Aad.Field field, long version) {
        return AesGcm.seal(key, plain, Aad.of(vaultId, environmentId, itemId, field,
                VaultState.versionBytes(version)), random);
    }

    private byte[] open(byte[] key, byte[] sealed, long environmentId, long itemId, Aad.Field field, long version)
            throws AEADBadTagException {
        return AesGcm.open(key, sealed, Aad.of(vaultId, environmentId, itemId, field,
                VaultState.versionBytes(version)));
    }

    private String text(byte[] key, byte[] sealed, long environmentId, long itemId, Aad.Field field,
            long version) throws AEADBadTagException {
        return new String(open(key, sealed, environmentId, itemId, field, version), StandardCharsets.UTF_8);
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

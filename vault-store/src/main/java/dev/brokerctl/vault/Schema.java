package dev.brokerctl.vault;

import java.util.List;

/**
 * SQLite schema of format version 1. Only structure is in the clear: ids, the HMAC name index
 * and foreign keys. Names, descriptions, timestamps, policies and values are ciphertexts.
 */
final class Schema {

    private Schema() {
    }

    static final List<String> V1 = List.of(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
            "CREATE TABLE keyslot (id INTEGER PRIMARY KEY, kdf TEXT NOT NULL,"
                    + " memory_kib INTEGER NOT NULL, iterations INTEGER NOT NULL,"
                    + " parallelism INTEGER NOT NULL, salt BLOB NOT NULL,"
                    + " wrapped_key BLOB NOT NULL, checksum BLOB NOT NULL)",
            "CREATE TABLE environment (id INTEGER PRIMARY KEY, name_index BLOB NOT NULL UNIQUE,"
                    + " name BLOB NOT NULL, policy BLOB NOT NULL)",
            "CREATE TABLE variable (id INTEGER PRIMARY KEY,"
                    + " environment_id INTEGER NOT NULL REFERENCES environment(id) ON DELETE CASCADE,"
                    + " name_index BLOB NOT NULL, name BLOB NOT NULL, meta BLOB NOT NULL,"
                    + " value BLOB NOT NULL, UNIQUE (environment_id, name_index))");

    /**
     * The audit log, still format version 1: a session creates it on its first audit call, so
     * vaults made before the audit log get it too. {@code entry} is an AES-GCM envelope bound to
     * {@code seq}; {@code mac} chains it to the entry before (see {@code AuditChain}).
     */
    static final String AUDIT = "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY,"
            + " entry BLOB NOT NULL, mac BLOB NOT NULL)";

    /**
     * Format 3: each environment and variable row carries its version (the vault state counter
     * of the write that last touched it), bound into its ciphertexts' AAD; see {@code VaultState}.
     */
    static final List<String> V3_VERSIONS = List.of(
            "ALTER TABLE environment ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE variable ADD COLUMN version INTEGER NOT NULL DEFAULT 0");

    /** {@code meta} key of the sealed audit head. */
    static final String AUDIT_HEAD_KEY = "audit_head";
}

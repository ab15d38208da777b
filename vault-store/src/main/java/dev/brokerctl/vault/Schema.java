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
}

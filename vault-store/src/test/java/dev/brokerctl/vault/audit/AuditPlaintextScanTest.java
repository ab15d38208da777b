package dev.brokerctl.vault.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.Policy;
import dev.brokerctl.vault.ResolvedValues;
import dev.brokerctl.vault.VaultSession;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit log is encrypted: argv, names and client names never appear in the vault file, its
 * WAL or its shared memory. And a value never reaches the audit log at all, not even encrypted.
 */
class AuditPlaintextScanTest {

    @TempDir
    Path tmp;

    static final String ENV = "canaryauditenv";
    static final String VARIABLE = "CANARY_AUDIT_VARIABLE_6e1f";
    static final String ARGV_WORD = "canary-argv-deploy-7d1e93";
    static final String CLIENT = "canary-client-agent-b04c";
    static final String REASON = "canary reason text 2aa8";

    static final String VALUE_1 = "canary-secret-value-9f3a7c21";
    static final String VALUE_2 = "canary-other-secret-0d44e6b8";

    @Test
    void argvNamesAndClients_areAbsentFromVaultWalAndShm_whileOpenAndAfterClose() throws Exception {
        Path file = AuditFixtures.create(tmp);
        try (VaultSession s = AuditFixtures.unlock(file)) {
            s.audit(AuditEvent.ENVIRONMENT_CREATED, ENV, AuditDetails.of("policy", "auto", "client", CLIENT));
            s.audit(AuditEvent.VARIABLE_SET, ENV, AuditDetails.of("variable", VARIABLE, "client", CLIENT));
            s.audit(AuditEvent.RUN_REQUESTED, ENV, AuditDetails.of("run_id", "r-1",
                    "argv", List.of("/usr/bin/" + ARGV_WORD, "--flag=" + ARGV_WORD),
                    "variables", List.of(VARIABLE), "reason", REASON, "client", CLIENT));
            s.audit(AuditEvent.RUN_DECIDED, ENV, AuditDetails.of("run_id", "r-1", "decided_by", CLIENT));
            scan(file, List.of(ENV, VARIABLE, ARGV_WORD, CLIENT, REASON, "run_requested", "RUN_REQUESTED"));
        }
        scan(file, List.of(ENV, VARIABLE, ARGV_WORD, CLIENT, REASON, "run_requested", "RUN_REQUESTED"));
    }

    /**
     * The guard: values stored in the vault, then every kind of event about the variables that
     * hold them. Neither the audit table's bytes nor the decrypted entries contain a value.
     */
    @Test
    void storedValues_neverReachTheAuditLog_rawOrDecrypted() throws Exception {
        Path file = AuditFixtures.create(tmp);
        try (VaultSession s = AuditFixtures.unlock(file)) {
            s.createEnvironment("dev", Policy.PROMPT);
            s.audit(AuditEvent.ENVIRONMENT_CREATED, "dev", AuditDetails.of("policy", Policy.PROMPT));
            s.put("dev", "API_TOKEN", AuditFixtures.value(VALUE_1), "deploy token");
            s.audit(AuditEvent.VARIABLE_SET, "dev", AuditDetails.of("variable", "API_TOKEN", "client", "cli"));
            s.putAll("dev", Map.of("DB_URL", AuditFixtures.value(VALUE_2)));
            s.audit(AuditEvent.IMPORTED, "dev", AuditDetails.of("variables", List.of("DB_URL"), "source", ".env"));

            s.audit(AuditEvent.RUN_REQUESTED, "dev", AuditDetails.of("run_id", "r-7",
                    "argv", List.of("deploy", "--token-from-env", "API_TOKEN"),
                    "variables", List.of("API_TOKEN", "DB_URL"), "client", "claude-code", "pid", 1234));
            s.audit(AuditEvent.RUN_DECIDED, "dev", AuditDetails.of("run_id", "r-7",
                    "decision", "approved", "decided_by", "console-2"));
            s.audit(AuditEvent.GRANT_CREATED, "dev", AuditDetails.of("grant_id", "g-1",
                    "argv", List.of("deploy"), "variables", List.of("API_TOKEN"), "expires_at", "2030-01-01T00:00:00Z"));
            try (ResolvedValues values = s.resolve("dev", List.of("API_TOKEN", "DB_URL"))) {
                // what the runner has in hand when it audits: names, counts and lengths only
                s.audit(AuditEvent.RUN_STARTED, "dev", AuditDetails.of("run_id", "r-7", "pid", 5678,
                        "variables", List.copyOf(values.names())));
            }
            s.audit(AuditEvent.RUN_EXITED, "dev", AuditDetails.of("run_id", "r-7", "exit_code", 0,
                    "duration_ms", 2200, "masked_count", 3));
            s.audit(AuditEvent.VARIABLE_REQUESTED, "dev", AuditDetails.of("variable", "NEW_KEY",
                    "reason", "needs a key", "client", "claude-code"));
            s.audit(AuditEvent.VARIABLE_UNSET, "dev", AuditDetails.of("variable", "DB_URL"));
            s.delete("dev", "DB_URL");
            s.audit(AuditEvent.POLICY_CHANGED, "dev", AuditDetails.of("policy", "auto", "previous", "prompt"));
            s.audit(AuditEvent.PASSPHRASE_FAILED, null, AuditDetails.of("client", "console-3", "attempts", 2));
            s.audit(AuditEvent.GRANT_REVOKED, "dev", AuditDetails.of("grant_id", "g-1", "reason", "expired"));
            s.audit(AuditEvent.PASSPHRASE_CHANGED, null, Map.of());
            s.audit(AuditEvent.VAULT_REKEYED, null, AuditDetails.of("source", "cli"));
            s.audit(AuditEvent.ROLLBACK_ACCEPTED, null, AuditDetails.of("previous", "41", "counter", 17, "source", "cli"));
            s.audit(AuditEvent.ENVIRONMENT_DELETED, "dev", AuditDetails.of("variable_count", 1));
            s.audit(AuditEvent.LOCKED, null, AuditDetails.of("reason", "idle"));
            s.audit(AuditEvent.RECORDS_LOST, null, AuditDetails.of("count", 2, "events", List.of("run_exited:2"),
                    "reason", "the disk is full"));

            List<AuditEntry> entries = s.auditEntries(null, null);
            assertEquals(AuditEvent.values().length - 1, entries.size(), "every event but UNLOCKED");
            for (AuditEntry e : entries) {
                assertFalse(e.isDamaged(), e.toString());
                for (String v : List.of(VALUE_1, VALUE_2)) {
                    assertFalse(e.toString().contains(v), "a value in toString of entry " + e.seq());
                    assertFalse(e.details().toString().contains(v), "a value in the details of entry " + e.seq());
                }
            }
            assertTrue(s.verifyAudit().isIntact());
            byte[] auditBytes = auditTableBytes(file);
            assertTrue(auditBytes.length > 1000, "the scan saw the table");
            for (String v : List.of(VALUE_1, VALUE_2)) {
                assertFalse(contains(auditBytes, v.getBytes(StandardCharsets.UTF_8)), "a value in the audit table");
            }
            scan(file, List.of(VALUE_1, VALUE_2, "claude-code", "console-2", "API_TOKEN"));
        }
    }

    /** Every stored byte of the audit table and the head, concatenated. */
    private static byte[] auditTableBytes(Path file) throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
                Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT seq, entry, mac FROM audit ORDER BY seq")) {
                while (rs.next()) {
                    out.write(rs.getBytes(2));
                    out.write(rs.getBytes(3));
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT value FROM meta WHERE key = 'audit_head'")) {
                assertTrue(rs.next());
                out.write(rs.getBytes(1));
            }
        }
        return out.toByteArray();
    }

    private static void scan(Path file, List<String> needles) throws Exception {
        List<Path> files = new ArrayList<>();
        for (String suffix : List.of("", "-wal", "-shm", "-journal")) {
            Path p = file.resolveSibling(file.getFileName() + suffix);
            if (Files.exists(p)) {
                files.add(p);
            }
        }
        assertTrue(files.contains(file));
        for (Path p : files) {
            byte[] content = Files.readAllBytes(p);
            for (String needle : needles) {
                assertFalse(contains(content, needle.getBytes(StandardCharsets.UTF_8)),
                        "plaintext found in " + p.getFileName() + " (needle #" + needles.indexOf(needle) + ")");
            }
        }
    }

    static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}

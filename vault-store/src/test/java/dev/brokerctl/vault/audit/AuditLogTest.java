package dev.brokerctl.vault.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.Policy;
import dev.brokerctl.vault.SecretValue;
import dev.brokerctl.vault.VaultSession;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Appending, reading back and verifying the audit log through {@link VaultSession}. */
class AuditLogTest {

    @TempDir
    Path tmp;
    Path file;

    @BeforeEach
    void create() throws Exception {
        file = AuditFixtures.create(tmp);
    }

    @Test
    void appendedEntries_readBackInOrder_withTypeEnvironmentAndDetails() throws Exception {
        Instant before = Instant.now().minusMillis(1);
        try (VaultSession s = AuditFixtures.unlock(file)) {
            assertEquals(1, s.audit(AuditEvent.UNLOCKED, null, AuditDetails.of("client", "cli", "pid", 4242)));
            assertEquals(2, s.audit(AuditEvent.RUN_REQUESTED, "dev", AuditDetails.of(
                    "run_id", "r-1", "argv", List.of("npm", "run", "deploy -- --prod"),
                    "variables", List.of("API_TOKEN", "DB_URL"), "client", "claude-code")));
            assertEquals(3, s.audit(AuditEvent.RUN_EXITED, "dev", AuditDetails.of(
                    "run_id", "r-1", "exit_code", 0, "duration_ms", 1532L, "masked_count", 2)));
        }
        Instant after = Instant.now().plusMillis(1);
        try (VaultSession s = AuditFixtures.unlock(file)) {
            List<AuditEntry> all = s.auditEntries(null, null);
            assertEquals(List.of(1L, 2L, 3L), all.stream().map(AuditEntry::seq).toList());
            assertEquals(List.of(AuditEvent.UNLOCKED, AuditEvent.RUN_REQUESTED, AuditEvent.RUN_EXITED),
                    all.stream().map(AuditEntry::type).toList());
            for (AuditEntry e : all) {
                assertFalse(e.isDamaged(), e.toString());
                assertTrue(!e.time().isBefore(before) && !e.time().isAfter(after), e.time().toString());
            }
            AuditEntry unlocked = all.get(0);
            assertNull(unlocked.environment());
            assertEquals(4242L, unlocked.number("pid"));
            AuditEntry request = all.get(1);
            assertEquals("dev", request.environment());
            assertEquals(List.of("run_id", "argv", "variables", "client"), List.copyOf(request.details().keySet()),
                    "details keep their order");
            assertEquals(List.of("npm", "run", "deploy -- --prod"), request.strings("argv"));
            assertEquals(List.of("API_TOKEN", "DB_URL"), request.strings("variables"));
            AuditEntry exit = all.get(2);
            assertEquals(0L, exit.number("exit_code"));
            assertEquals(1532L, exit.number("duration_ms"));
            assertEquals(2L, exit.number("masked_count"));
            assertEquals("r-1", exit.string("run_id"));
            assertEquals(AuditVerification.intact(3), s.verifyAudit());
        }
    }

    @Test
    void sinceFilter_returnsEntriesAtOrAfterTheInstant_oldestFirst() throws Exception {
        try (VaultSession s = AuditFixtures.unlock(file)) {
            s.audit(AuditEvent.UNLOCKED, null, Map.of());
            s.audit(AuditEvent.VARIABLE_SET, "dev", AuditDetails.of("variable", "OLD"));
            Instant cut = nextMillisecond();
            s.audit(AuditEvent.VARIABLE_SET, "dev", AuditDetails.of("variable", "NEW"));
            s.audit(AuditEvent.LOCKED, null, AuditDetails.of("reason", "idle"));

            List<AuditEntry> recent = s.auditEntries(cut, null);
            assertEquals(List.of(3L, 4L), recent.stream().map(AuditEntry::seq).toList());
            assertEquals(4, s.auditEntries(Instant.EPOCH, null).size());
            assertEquals(List.of(), s.auditEntries(Instant.now().plusSeconds(60), null));
        }
    }

    @Test
    void environmentFilter_returnsOnlyThatEnvironment_notVaultWideEvents() throws Exception {
        try (VaultSession s = AuditFixtures.unlock(file)) {
            s.audit(AuditEvent.UNLOCKED, null, Map.of());
            s.audit(AuditEvent.ENVIRONMENT_CREATED, "dev", AuditDetails.of("policy", Policy.AUTO));
            s.audit(AuditEvent.ENVIRONMENT_CREATED, "prod", AuditDetails.of("policy", Policy.PROMPT));
            s.audit(AuditEvent.POLICY_CHANGED, "dev", AuditDetails.of("policy", "prompt", "previous", "auto"));
            s.audit(AuditEvent.RUN_REQUESTED, "prod", AuditDetails.of("argv", List.of("ls")));

            assertEquals(List.of(2L, 4L), s.auditEntries(null, "dev").stream().map(AuditEntry::seq).toList());
            assertEquals(List.of(3L, 5L), s.auditEntries(null, "prod").stream().map(AuditEntry::seq).toList());
            assertEquals(List.of(), s.auditEntries(null, "staging"));
            assertEquals("auto", s.auditEntries(null, "dev").get(0).string("policy"), "enums stored by id");
        }
    }

    @Test
    void sinceAndEnvironmentFilters_combine() throws Exception {
        try (VaultSession s = AuditFixtures.unlock(file)) {
            s.audit(AuditEvent.VARIABLE_SET, "dev", AuditDetails.of("variable", "A"));
            s.audit(AuditEvent.VARIABLE_SET, "prod", AuditDetails.of("variable", "B"));
            Instant cut = nextMillisecond();
            s.audit(AuditEvent.VARIABLE_UNSET, "dev", AuditDetails.of("variable", "A"));
            s.audit(AuditEvent.VARIABLE_UNSET, "prod", AuditDetails.of("variable", "B"));

            List<AuditEntry> got = s.auditEntries(cut, "dev");
            assertEquals(1, got.size());
            assertEquals(AuditEvent.VARIABLE_UNSET, got.get(0).type());
            assertEquals(3, got.get(0).seq());
        }
    }

    @Test
    void entriesAfter_returnsOnlyNewerEntries_forFollowing() throws Exception {
        try (VaultSession reader = AuditFixtures.unlock(file);
                VaultSession writer = AuditFixtures.unlock(file)) {
            writer.audit(AuditEvent.UNLOCKED, null, Map.of());
            writer.audit(AuditEvent.LOCKED, null, Map.of());
            assertEquals(2, reader.auditEntriesAfter(0, null, null).size());
            assertEquals(List.of(), reader.auditEntriesAfter(2, null, null));
            writer.audit(AuditEvent.UNLOCKED, null, Map.of());
            List<AuditEntry> fresh = reader.auditEntriesAfter(2, null, null);
            assertEquals(List.of(3L), fresh.stream().map(AuditEntry::seq).toList());
        }
    }

    @Test
    void verify_ofAnEmptyLog_isIntactWithZeroEntries() throws Exception {
        try (VaultSession s = AuditFixtures.unlock(file)) {
            AuditVerification v = s.verifyAudit();
            assertTrue(v.isIntact());
            assertEquals(0, v.verified());
            assertEquals("audit log intact: 0 entries", v.toString());
        }
    }

    @Test
    void verify_afterManyAppendsAcrossSessions_isIntactWithTheCount() throws Exception {
        for (int round = 0; round < 3; round++) {
            try (VaultSession s = AuditFixtures.unlock(file)) {
                for (int i = 0; i < 20; i++) {
                    s.audit(AuditEvent.RUN_STARTED, "dev", AuditDetails.of("run_id", "r-" + round + "-" + i));
                }
            }
        }
        try (VaultSession s = AuditFixtures.unlock(file)) {
            assertEquals(AuditVerification.intact(60), s.verifyAudit());
        }
    }

    @Test
    void batch_appendsInOrderInOneGo_andChainsWithSingleAppends() throws Exception {
        try (VaultSession s = AuditFixtures.unlock(file)) {
            assertEquals(1, s.audit(AuditEvent.UNLOCKED, null, Map.of()));
            assertEquals(3, s.audit(List.of(
                    new AuditRecord(AuditEvent.RUN_REQUESTED, "dev", AuditDetails.of("run_id", 7)),
                    new AuditRecord(AuditEvent.RUN_DECIDED, "dev", AuditDetails.of("run_id", 7, "decision", "auto")))));
            assertEquals(4, s.audit(AuditEvent.RUN_EXITED, "dev", AuditDetails.of("run_id", 7, "exit_code", 0)));
        }
        try (VaultSession s = AuditFixtures.unlock(file)) {
            List<AuditEntry> all = s.auditEntries(null, null);
            assertEquals(List.of(AuditEvent.UNLOCKED, AuditEvent.RUN_REQUESTED, AuditEvent.RUN_DECIDED,
                    AuditEvent.RUN_EXITED), all.stream().map(AuditEntry::type).toList());
            assertEquals("auto", all.get(2).string("decision"));
            assertFalse(all.get(2).time().isBefore(all.get(1).time()));
            assertEquals(AuditVerification.intact(4), s.verifyAudit());
        }
    }

    @Test
    void batch_withOneRefusedEntry_failsBeforeAnythingIsAppended() throws Exception {
        try (VaultSession s = AuditFixtures.unlock(file);
                SecretValue secret = AuditFixtures.value("must-not-be-audited")) {
            s.audit(AuditEvent.UNLOCKED, null, Map.of());
            assertThrows(IllegalArgumentException.class, () -> s.audit(List.of(
                    new AuditRecord(AuditEvent.RUN_REQUESTED, "dev", AuditDetails.of("run_id", 8)),
                    AuditRecord.of(AuditEvent.VARIABLE_SET, "dev", Map.of("value", secret)))));
            assertThrows(IllegalArgumentException.class, () -> s.audit(List.of()));
            assertEquals(1, s.auditEntries(null, null).size());
            assertEquals(AuditVerification.intact(1), s.verifyAudit());
        }
    }

    @Test
    void recordToString_namesTheEventAndRunOnly_neverArgv() {
        AuditRecord r = new AuditRecord(AuditEvent.RUN_REQUESTED, "dev",
                AuditDetails.of("run_id", 12, "argv", List.of("deploy", "--token=canary-in-argv")));
        assertEquals("AuditRecord[run_requested dev run 12]", r.toString());
        assertEquals("AuditRecord[unlocked]", new AuditRecord(AuditEvent.UNLOCKED, null, Map.of()).toString());
    }

    @Test
    void refusedDetails_throwBeforeAnythingIsAppended() throws Exception {
        try (VaultSession s = AuditFixtures.unlock(file)) {
            s.audit(AuditEvent.UNLOCKED, null, Map.of());
            try (SecretValue secret = AuditFixtures.value("must-not-be-audited")) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> s.audit(AuditEvent.VARIABLE_SET, "dev", Map.of("value", secret)));
                assertEquals("audit detail 'value' is a secret or raw bytes; the audit log takes names,"
                        + " argv and numbers, never a value", e.getMessage());
            }
            assertThrows(IllegalArgumentException.class,
                    () -> s.audit(AuditEvent.VARIABLE_SET, "dev", Map.of("value", "x".getBytes())));
            assertThrows(IllegalArgumentException.class,
                    () -> s.audit(AuditEvent.VARIABLE_SET, "dev", Map.of("value", "x".toCharArray())));
            assertThrows(IllegalArgumentException.class,
                    () -> s.audit(AuditEvent.RUN_EXITED, "dev", Map.of("ratio", 0.5)));
            assertThrows(IllegalArgumentException.class,
                    () -> s.audit(AuditEvent.RUN_EXITED, "dev", Map.of("Bad-Key", 1)));
            assertThrows(IllegalArgumentException.class,
                    () -> s.audit(AuditEvent.RUN_EXITED, "dev", Map.of("argv", List.of("a", 1))));
            Map<String, Object> withNull = new LinkedHashMap<>();
            withNull.put("cwd", null);
            assertThrows(IllegalArgumentException.class, () -> s.audit(AuditEvent.RUN_EXITED, "dev", withNull));
            assertThrows(IllegalArgumentException.class,
                    () -> s.audit(AuditEvent.RUN_EXITED, "x".repeat(300), Map.of()));
            assertThrows(NullPointerException.class, () -> s.audit(null, "dev", Map.of()));
            assertEquals(AuditVerification.intact(1), s.verifyAudit());
        }
    }

    @Test
    void entryToString_isCompact() throws Exception {
        try (VaultSession s = AuditFixtures.unlock(file)) {
            List<String> longArgv = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                longArgv.add("arg" + i);
            }
            s.audit(AuditEvent.RUN_REQUESTED, "dev", AuditDetails.of("argv", longArgv,
                    "reason", "r".repeat(500), "pid", 7));
            String text = s.auditEntries(null, null).get(0).toString();
            assertTrue(text.startsWith("AuditEntry[#1 "), text);
            assertTrue(text.contains(" run_requested env=dev argv=[10 items] reason=rrrr"), text);
            assertTrue(text.endsWith("... pid=7]"), text);
            assertTrue(text.length() < 150, text);
        }
    }

    @Test
    void sessionClosed_auditCallsFail() throws Exception {
        VaultSession s = AuditFixtures.unlock(file);
        s.close();
        assertThrows(IllegalStateException.class, () -> s.audit(AuditEvent.LOCKED, null, Map.of()));
        assertThrows(IllegalStateException.class, s::verifyAudit);
    }

    /** Returns an instant strictly after every entry appended so far (the log keeps milliseconds). */
    private static Instant nextMillisecond() {
        long now = System.currentTimeMillis();
        while (System.currentTimeMillis() <= now) {
            Thread.onSpinWait();
        }
        return Instant.ofEpochMilli(System.currentTimeMillis());
    }
}

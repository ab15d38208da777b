package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Entries appended at once and entries queued to be appended in the background keep one order. */
class VaultHolderAuditTest {

    @TempDir
    Path tmp;
    DaemonFixture f;
    /** The background executor, run by hand: tasks wait here until the test runs them. */
    final ArrayDeque<Runnable> background = new ArrayDeque<>();
    VaultHolder vault;

    @BeforeEach
    void unlock() throws Exception {
        f = new DaemonFixture(tmp);
        vault = new VaultHolder(f.vaultFile, Clock.systemUTC(), Duration.ofMinutes(30), background::add);
        vault.unlock(DaemonFixture.PASSPHRASE.toCharArray());
    }

    private static AuditRecord started(long run) {
        return new AuditRecord(AuditEvent.RUN_STARTED, "dev", AuditDetails.of(AuditDetails.RUN_ID, run));
    }

    private static AuditRecord exited(long run) {
        return new AuditRecord(AuditEvent.RUN_EXITED, "dev", AuditDetails.of(AuditDetails.RUN_ID, run));
    }

    private List<String> logged() throws Exception {
        try (VaultSession s = Vault.open(f.vaultFile).unlock(DaemonFixture.PASSPHRASE.toCharArray())) {
            assertTrue(s.verifyAudit().isIntact());
            return s.auditEntries(null, null).stream()
                    .map(e -> e.type().id() + (e.details().containsKey("run_id") ? " " + e.number("run_id") : ""))
                    .toList();
        }
    }

    private void runBackground() {
        while (!background.isEmpty()) {
            background.poll().run();
        }
    }

    @Test
    void queuedEntries_areAppendedInTheBackground_inOrder() throws Exception {
        vault.auditLater(started(1));
        vault.auditLater(exited(1));
        assertEquals(List.of("unlocked"), logged(), "nothing appended before the background task runs");
        runBackground();
        assertEquals(List.of("unlocked", "run_started 1", "run_exited 1"), logged());
    }

    @Test
    void anEntryAppendedAtOnce_goesAfterTheQueuedOnes_andTheQueueIsNotAppendedTwice() throws Exception {
        vault.auditLater(started(1));
        vault.auditLater(exited(1));
        vault.audit(AuditEvent.RUN_REQUESTED, "dev", AuditDetails.of(AuditDetails.RUN_ID, 2L));
        assertEquals(List.of("unlocked", "run_started 1", "run_exited 1", "run_requested 2"), logged());
        runBackground();
        assertEquals(4, logged().size());
    }

    @Test
    void locking_appendsTheQueuedEntriesFirst() throws Exception {
        vault.auditLater(exited(3));
        vault.lock("test");
        runBackground();
        assertEquals(List.of("unlocked", "run_exited 3", "locked"), logged());
    }

    @Test
    void anEntryQueuedWhileLocked_waits_andIsWrittenAtTheNextUnlock_beforeIt() throws Exception {
        vault.lock("test");
        vault.auditLater(exited(4));
        runBackground();
        assertEquals(List.of("unlocked", "locked"), logged());
        vault.unlock(DaemonFixture.PASSPHRASE.toCharArray());
        assertEquals(List.of("unlocked", "locked", "run_exited 4", "unlocked"), logged());
    }
}

package dev.brokerctl.vault.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.brokerctl.vault.VaultSession;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Several appenders at once (the daemon and a CLI command) must keep one valid chain. */
class AuditConcurrencyTest {

    @TempDir
    Path tmp;

    @Test
    void twoProcessesAppendingAtOnce_keepOneValidChain() throws Exception {
        Path file = AuditFixtures.create(tmp);
        int each = 100;
        Process a = start(file, "A", each);
        Process b = start(file, "B", each);
        try {
            BufferedReader outA = reader(a);
            BufferedReader outB = reader(b);
            assertEquals("ready", outA.readLine());
            assertEquals("ready", outB.readLine());
            for (Process p : new Process[] {a, b}) {
                Writer w = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
                w.write("go\n");
                w.flush();
            }
            assertEquals(each, countAcks(outA));
            assertEquals(each, countAcks(outB));
            assertEquals(0, a.waitFor());
            assertEquals(0, b.waitFor());
        } finally {
            a.destroyForcibly();
            b.destroyForcibly();
        }
        assertOneChainWithEveryEntry(file, List.of("A", "B"), each);
    }

    @Test
    void twoSessionsOnTwoThreads_keepOneValidChain() throws Exception {
        Path file = AuditFixtures.create(tmp);
        int each = 150;
        List<String> prefixes = List.of("X", "Y");
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2, r -> new Thread(r, "audit-appender"));
        try {
            List<Future<Void>> done = new ArrayList<>();
            for (String prefix : prefixes) {
                VaultSession s = AuditFixtures.unlock(file);
                done.add(pool.submit(() -> {
                    try (s) {
                        go.await();
                        for (int i = 0; i < each; i++) {
                            s.audit(AuditEvent.RUN_STARTED, "dev", AuditDetails.of("run_id", prefix + "-" + i));
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<Void> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertOneChainWithEveryEntry(file, prefixes, each);
    }

    @Test
    void oneSessionSharedByThreads_keepsOneValidChain() throws Exception {
        Path file = AuditFixtures.create(tmp);
        int threads = 4;
        int each = 50;
        List<String> prefixes = List.of("P0", "P1", "P2", "P3");
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> new Thread(r, "audit-appender"));
        try (VaultSession s = AuditFixtures.unlock(file)) {
            List<Future<?>> done = new ArrayList<>();
            for (String prefix : prefixes) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        s.audit(AuditEvent.RUN_STARTED, "dev", Map.of("run_id", prefix + "-" + i));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertOneChainWithEveryEntry(file, prefixes, each);
    }

    /** Every entry present once, each appender's entries in its own order, times non-decreasing. */
    private static void assertOneChainWithEveryEntry(Path file, List<String> prefixes, int each)
            throws Exception {
        try (VaultSession s = AuditFixtures.unlock(file)) {
            assertEquals(AuditVerification.intact((long) prefixes.size() * each), s.verifyAudit());
            List<AuditEntry> all = s.auditEntries(null, null);
            assertEquals(prefixes.size() * each, all.size());
            for (String prefix : prefixes) {
                List<String> ids = all.stream().map(e -> e.string("run_id"))
                        .filter(id -> id.startsWith(prefix + "-")).toList();
                List<String> expected = new ArrayList<>();
                for (int i = 0; i < each; i++) {
                    expected.add(prefix + "-" + i);
                }
                assertEquals(expected, ids, "entries of " + prefix);
            }
            for (int i = 1; i < all.size(); i++) {
                assertEquals(i + 1, all.get(i).seq());
                assertEquals(false, all.get(i).time().isBefore(all.get(i - 1).time()),
                        "times follow the sequence numbers at " + all.get(i).seq());
            }
        }
    }

    private static Process start(Path file, String prefix, int count) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(AuditAppenderMain.class.getName());
        cmd.add(file.toString());
        cmd.add(prefix);
        cmd.add(Integer.toString(count));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static BufferedReader reader(Process p) {
        return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    }

    private static int countAcks(BufferedReader out) throws Exception {
        int n = 0;
        while (out.readLine() != null) {
            n++;
        }
        return n;
    }
}

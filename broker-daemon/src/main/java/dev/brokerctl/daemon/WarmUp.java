package dev.brokerctl.daemon;

import dev.brokerctl.daemon.mask.Masker;
import dev.brokerctl.daemon.mask.MaskingOutputStream;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's run path, gone through once at start on a background thread so that the first
 * real run does not pay for it (docs/architecture.md, "Startup budget"): a fresh JVM spends tens
 * of milliseconds on the first request in class initialisation, the JDK's process machinery (its
 * reaper thread, the fork helper), the first bwrap start and interpreted code.
 *
 * <p>What it goes through: a run request as the client sends it (JSON parsed, validated), its
 * resolution (the executable's content hash, the working directory {@code /}, a child environment
 * of PATH alone), the approval hash and one-time code, the audit entries' encoding (built,
 * <em>never appended</em>), a masker over a random pattern (not a secret), then the spawn of
 * {@code true} with <em>no variables</em> through the daemon's own launcher (the same containment
 * as every run, bwrap included), its output through the attached sink's frame encoding, and once
 * more as a detached run in a registry of its own, read back with {@code run_get}. It never opens
 * a vault session, writes no audit entry, registers nothing in the daemon's runs, and does not
 * count as use for the idle lock.
 *
 * <p>It never holds up a real run: it starts after the daemon is ready, and stops at the next
 * step once a real run was requested or the daemon stops. The one thing a real run can wait for
 * is one spawn already in flight on the spawner's thread (a few milliseconds, once).
 */
final class WarmUp implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(WarmUp.class);
    /** The run id of warm-up runs: real ones count milliseconds since 2026, never 0. */
    static final long RUN_ID = 0;

    /** What the warm-up did: for the log and for tests. */
    record Result(int spawned, int exitCode, boolean interrupted, String failure, String command) {
    }

    /** What the warm-up needs of the daemon; a real run requested meanwhile makes it stop. */
    interface Host {
        Run.Resolved resolve(RunRequest q) throws BrokerException;

        Runner runner();

        Map<String, String> environment();

        java.time.Clock clock();

        /** True once a real run was requested or the daemon is stopping. */
        boolean yieldToRuns();
    }

    private final Host host;
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile Result result;

    WarmUp(Host host) {
        this.host = host;
    }

    /** Waits for the warm-up to end; null if it did not within {@code timeoutMs}. */
    Result await(long timeoutMs) throws InterruptedException {
        return done.await(timeoutMs, TimeUnit.MILLISECONDS) ? result : null;
    }

    @Override
    public void run() {
        int spawned = 0;
        int exit = -1;
        String failure = "";
        boolean interrupted = false;
        long t0 = System.nanoTime();
        String command = null;
        try {
            String trueCommand = systemTrue();
            command = trueCommand;
            if (trueCommand == null) {
                throw new BrokerException(dev.brokerctl.protocol.ErrorCode.COMMAND_NOT_FOUND,
                        "no root-owned true that only root can replace");
            }
            for (boolean detached : new boolean[] {false, true}) {
                if (host.yieldToRuns()) {
                    interrupted = true;
                    break;
                }
                exit = once(trueCommand, detached);
                spawned++;
            }
        } catch (BrokerException | IOException | RuntimeException e) {
            // the host cannot run `true` here (no PATH, a launcher that fails): the first real run
            // will say why; nothing is lost but the warm-up
            failure = e.getClass().getSimpleName();
        } catch (InterruptedException e) {
            interrupted = true;
        } finally {
            result = new Result(spawned, exit, interrupted, failure, command);
            done.countDown();
        }
        LOG.info("run path warmed up in {} ms: {} spawn{} of true{}{}", (System.nanoTime() - t0) / 1_000_000,
                spawned, spawned == 1 ? "" : "s",
                interrupted ? ", stopped early (a real run or the daemon's stop came first)" : "",
                failure.isEmpty() ? "" : ", failed (" + failure + ")");
    }

    /**
     * {@code /usr/bin/true} or {@code /bin/true}, owned by root and writable by nobody else, as
     * its directory: never a {@code true} found in PATH, where an agent of the user (even one in
     * a sandbox, through a project directory on PATH) could plant a program that the daemon would
     * then start on its own at every start. Null when neither qualifies: no warm-up spawn.
     */
    static String systemTrue() {
        for (String candidate : new String[] {"/usr/bin/true", "/bin/true"}) {
            java.nio.file.Path p = java.nio.file.Path.of(candidate);
            try {
                java.nio.file.Path real = p.toRealPath();
                if (java.nio.file.Files.isRegularFile(real) && rootOnly(real) && rootOnly(real.getParent())) {
                    return real.toString();
                }
            } catch (IOException | RuntimeException e) {
                // not this one
            }
        }
        return null;
    }

    private static boolean rootOnly(java.nio.file.Path p) throws IOException {
        Map<String, Object> a = java.nio.file.Files.readAttributes(p, "unix:uid,mode",
                java.nio.file.LinkOption.NOFOLLOW_LINKS);
        return (Integer) a.get("uid") == 0 && ((Integer) a.get("mode") & 0022) == 0;
    }

    private int once(String trueCommand, boolean detached) throws BrokerException, IOException, InterruptedException {
        // the request as a client sends it: JSON, parsed and validated as every request is
        byte[] json = Message.of("run").with("environment", "warm-up").with("argv", List.of(trueCommand))
                .with("cwd", "/").with("env", Map.of("PATH", host.environment().getOrDefault("PATH", "/usr/bin:/bin")))
                .with("variables", List.of())
                .with("refs", List.of()).with("reason", "").with("timeout_ms", 0L).with("masking", true)
                .with("stdin", false).toJson();
        RunRequest q = RunRequest.from(Message.parse(json));
        Run run = new Run(RUN_ID, q, new Run.Requester(Peer.UNKNOWN, "brokerctl warm-up", "", -1),
                host.clock().instant());
        Run.Resolved resolved = host.resolve(q);
        run.identify(resolved, RequestIdentity.hash(q, resolved), RequestIdentity.newCode());
        // the entries a run writes, encoded (their constructor checks and encodes them), not appended
        new AuditRecord(AuditEvent.RUN_REQUESTED, q.environment(), AuditDetails.of(
                AuditDetails.RUN_ID, run.id(), AuditDetails.ARGV, q.argv(),
                AuditDetails.EXECUTABLE, resolved.executable().path().toString(),
                AuditDetails.CWD, resolved.cwd().toString(), AuditDetails.VARIABLES, List.of(),
                AuditDetails.REQUEST_HASH, run.requestHash()));
        new AuditRecord(AuditEvent.RUN_DECIDED, q.environment(), AuditDetails.of(AuditDetails.RUN_ID, run.id(),
                AuditDetails.DECISION, "auto", AuditDetails.DECIDED_BY, "policy"));
        maskSample();
        if (host.yieldToRuns()) {
            throw new InterruptedException();
        }
        Runner.Events none = new Runner.Events() {
            @Override
            public void started(long pid) {
                // no audit entry: nothing of the human's ran
            }

            @Override
            public void exited(Runner.Outcome outcome) {
                // no audit entry
            }
        };
        Runner.Outcome o;
        if (detached) {
            run.detach();
            DetachedRuns own = new DetachedRuns(new java.security.SecureRandom(), host.clock());
            DetachedRuns.Entry entry = own.add(run);
            o = host.runner().run(run, new java.util.LinkedHashMap<>(), entry, none);
            own.get(Message.of("run_get").with("handle", entry.handle));
        } else {
            o = host.runner().run(run, new java.util.LinkedHashMap<>(), new Encoding(), none);
        }
        return o.exitCode();
    }

    /** A masker over a random pattern (generated here, not a secret), some output through it. */
    private static void maskSample() throws IOException {
        byte[] pattern = new byte[24];
        new java.security.SecureRandom().nextBytes(pattern);
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (byte) ('a' + (pattern[i] & 0x0f));
        }
        Masker m = Masker.compile(Map.of("WARM_UP", pattern));
        try (MaskingOutputStream out = m.wrap(OutputStream.nullOutputStream())) {
            byte[] line = ("ok " + new String(pattern, java.nio.charset.StandardCharsets.US_ASCII) + " done\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            for (int i = 0; i < 8; i++) {
                out.write(line, 0, line.length);
            }
        } finally {
            m.destroy();
            java.util.Arrays.fill(pattern, (byte) 0);
        }
    }

    /** The attached sink's work without a connection: messages and data encoded as frames, then dropped. */
    private static final class Encoding implements Runner.Sink {
        private final ByteArrayOutputStream frames = new ByteArrayOutputStream();

        @Override
        public synchronized void data(byte kind, byte[] b, int off, int len) throws IOException {
            frames.reset();
            Frame.write(frames, kind, b, off, len);
        }

        @Override
        public synchronized void message(Message m) throws IOException {
            byte[] j = m.toJson();
            frames.reset();
            Frame.write(frames, Frame.JSON, j, 0, j.length);
        }
    }
}

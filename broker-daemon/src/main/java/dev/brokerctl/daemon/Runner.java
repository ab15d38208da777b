package dev.brokerctl.daemon;

import dev.brokerctl.daemon.mask.Masker;
import dev.brokerctl.daemon.mask.MaskingOutputStream;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.protocol.Workers;
import dev.brokerctl.vault.SecretValue;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts an approved run: the executable resolved at request time (no shell), checked unchanged,
 * with the environment resolved then plus the injected values, starts the command in its own process group, streams
 * stdout and stderr through the masker to the requester, and reports the exit.
 */
final class Runner {

    private static final Logger LOG = LoggerFactory.getLogger(Runner.class);
    private static final int BUFFER = 32 * 1024;
    static final String DAEMON_STOPPED_MESSAGE = "the daemon stopped (brokerctl stop) while the command ran; it was killed";

    /** Where a run's output and final status go (the requester's connection). */
    interface Sink {
        void data(byte kind, byte[] b, int off, int len) throws IOException;

        void message(Message m) throws IOException;
    }

    /** What the caller records: told before the requester hears of it. */
    interface Events {
        void started(long pid);

        void exited(Outcome outcome);
    }

    /** Outcome, for the caller's log and the audit log. */
    record Outcome(int exitCode, boolean timedOut, boolean cancelled, long durationMs, long maskedCount) {
    }

    private final Clock clock;
    private final Workers workers;
    private final Launcher launcher;

    Runner(Clock clock, Workers workers, Launcher launcher) {
        this.clock = clock;
        this.workers = workers;
        this.launcher = launcher;
    }

    Launcher launcher() {
        return launcher;
    }

    /**
     * Runs to completion on the calling thread. {@code values} are consumed: zeroed before this
     * returns.
     *
     * @throws BrokerException when the command cannot be started (not found, not executable)
     */
    Outcome run(Run run, Map<String, SecretValue> values, Sink sink, Events events)
            throws BrokerException, IOException {
        RunRequest req = run.request();
        Masker masker = null;
        Process process;
        try {
            Run.Resolved resolved = run.resolved();
            List<String> argv = new ArrayList<>(req.argv());
            argv.set(0, resolved.executable().path().toString());
            ProcessBuilder pb = new ProcessBuilder();
            pb.directory(resolved.cwd().toFile());
            Map<String, String> env = pb.environment();
            env.clear();
            env.putAll(resolved.environment().variables());
            Map<String, byte[]> patterns = new LinkedHashMap<>();
            for (Map.Entry<String, SecretValue> e : values.entrySet()) {
                byte[] v = e.getValue().revealBytes();
                // ProcessBuilder takes Strings: the one copy of the value we cannot zero (threat model).
                env.put(e.getKey(), envString(e.getKey(), v));
                patterns.put(e.getKey(), v);
            }
            if (req.masking()) {
                masker = Masker.compile(patterns);
            }
            if (!req.forwardStdin()) {
                pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            }
            // what the human approved, checked as late as we can: a file replaced since is refused
            resolved.executable().checkUnchanged();
            process = launcher.start(pb, argv, resolved.cwd(), run.hostFileSystem());
        } catch (IOException e) {
            throw new BrokerException(ErrorCode.INTERNAL, "cannot start " + req.argv().get(0) + ": "
                    + Log.cause(e));
        } finally {
            values.values().forEach(SecretValue::destroy);
        }
        long started = clock.millis();
        run.started(process, launcher);
        if (run.cancelled()) {
            // cancelled (a stop, the daemon's shutdown) while it was being started, before it had a
            // process to kill: it is killed now (both fields are volatile: one side sees the other)
            launcher.kill(process);
        }
        events.started(process.pid());
        boolean logged = run.id() != WarmUp.RUN_ID;   // the warm-up's own run says nothing
        if (logged) {
            LOG.info("run {} started: pid {}, {} variables injected", run.id(), process.pid(), values.size());
        }
        List<String> unmasked = masker == null ? List.of() : masker.unmaskedShortValueNames();
        Message startedMessage = Message.of("started").with("run_id", run.id()).with("pid", process.pid())
                .with("unmasked", unmasked).with("masking", req.masking());
        if (run.narrowedTo() != null) {
            startedMessage.with("narrowed_to", run.narrowedTo());
        }
        sink.message(startedMessage);

        Gate out = new Gate(new FrameStream(sink, Frame.STDOUT));
        Gate err = new Gate(new FrameStream(sink, Frame.STDERR));
        MaskingOutputStream maskedOut = masker == null ? null : masker.wrap(out);
        MaskingOutputStream maskedErr = masker == null ? null : masker.wrap(err);
        StdinPipe stdin = run.stdin();
        if (stdin != null) {
            workers.execute("run-" + run.id() + "-stdin", () -> {
                try {
                    stdin.pump(process.getOutputStream(), total -> sink.message(
                            Message.of("stdin_ack").with("run_id", run.id()).with("bytes", total)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        // the masker is destroyed by the last of the two pumps and this thread to be done with it: a
        // pump left reading (see join) may still be inside it when the run ends
        Runnable release = release(masker);
        Future<?> outPump = pump("run-" + run.id() + "-stdout", process.getInputStream(),
                maskedOut != null ? maskedOut : out, release);
        Future<?> errPump = pump("run-" + run.id() + "-stderr", process.getErrorStream(),
                maskedErr != null ? maskedErr : err, release);

        boolean timedOut = false;
        try {
            if (req.timeoutMs() > 0) {
                if (!process.waitFor(req.timeoutMs(), TimeUnit.MILLISECONDS)) {
                    timedOut = true;
                    launcher.kill(process);
                }
            }
            int code = process.waitFor();
            // Whatever the command left running in its group goes with it: no orphans holding
            // the injected values, and no grandchild holding our pipes open.
            launcher.kill(process);
            boolean drained = join(outPump, process.getInputStream()) & join(errPump, process.getErrorStream());
            out.shut();   // what a pump still reads from now on is dropped: the exit comes last
            err.shut();
            if (!drained && logged) {
                LOG.warn("run {}: a process outside the run's reach holds its output open and does not let go"
                        + " (uninterruptible sleep?); the run ends without the rest of its output", run.id());
            }
            long masked = (maskedOut == null ? 0 : maskedOut.maskedCount())
                    + (maskedErr == null ? 0 : maskedErr.maskedCount());
            long duration = clock.millis() - started;
            boolean cancelled = run.cancelled();
            run.finished();
            Message exit = Message.of("exit").with("run_id", run.id()).with("exit_code", code)
                    .with("duration_ms", duration).with("masked_count", masked)
                    .with("timed_out", timedOut).with("cancelled", cancelled);
            if (code > 128 && code < 128 + 65) {
                exit.with("signal", code - 128);
            }
            if (logged) {
                LOG.info("run {} exited: code {}, {} ms, {} values masked{}", run.id(), code, duration, masked,
                        timedOut ? ", timed out" : "");
            }
            Outcome outcome = new Outcome(code, timedOut, cancelled, duration, masked);
            events.exited(outcome);
            if (run.daemonStopped()) {
                // not the command's own exit: say why it ended (issue 13), with its code for the record
                exit = Message.of("error").with("code", ErrorCode.DAEMON_STOPPED.wire())
                        .with("message", DAEMON_STOPPED_MESSAGE).with("run_id", run.id()).with("exit_code", code)
                        .with("duration_ms", duration).with("masked_count", masked);
            }
            sink.message(exit);
            return outcome;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            launcher.kill(process);
            throw new BrokerException(ErrorCode.DAEMON_STOPPED, DAEMON_STOPPED_MESSAGE);
        } finally {
            launcher.kill(process);
            if (stdin != null) {
                stdin.close();
            }
            out.shut();
            err.shut();
            release.run();
        }
    }

    /** Destroys {@code masker} at the third call (two pumps and the run's thread), never before. */
    private static Runnable release(Masker masker) {
        java.util.concurrent.atomic.AtomicInteger holders = new java.util.concurrent.atomic.AtomicInteger(3);
        return () -> {
            if (holders.decrementAndGet() == 0 && masker != null) {
                masker.destroy();
            }
        };
    }

    /** Environment values must be text without NUL to pass through ProcessBuilder intact. */
    private static String envString(String name, byte[] value) throws BrokerException {
        for (byte b : value) {
            if (b == 0) {
                throw new BrokerException(ErrorCode.INVALID, "variable " + name
                        + " contains a NUL byte and cannot be an environment variable");
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(value)).toString();
        } catch (CharacterCodingException e) {
            throw new BrokerException(ErrorCode.INVALID, "variable " + name
                    + " is not UTF-8 text and cannot be injected as an environment variable");
        }
    }

    private Future<?> pump(String name, InputStream from, OutputStream to, Runnable done) {
        return workers.submit(name, () -> {
            byte[] buf = new byte[BUFFER];
            try (to) {
                int n;
                while ((n = from.read(buf)) > 0) {
                    to.write(buf, 0, n);
                }
            } catch (IOException e) {
                // the requester went away or the pipe was closed: the run is being torn down
            } finally {
                java.util.Arrays.fill(buf, (byte) 0);
                done.run();
            }
        });
    }

    /**
     * Waits for a pump; if something outside the group still holds the pipe, closes it and waits 1 s
     * more. False when the pump is still blocked then: closing a pipe does not wake a read in
     * progress, and a process that cannot die (uninterruptible sleep) may never let go of it.
     */
    private static boolean join(Future<?> pump, InputStream pipe) throws InterruptedException {
        try {
            try {
                pump.get(5, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                try {
                    pipe.close();
                } catch (IOException ignored) {
                    // closing to unblock the pump
                }
                pump.get(1, TimeUnit.SECONDS);
            }
        } catch (TimeoutException stillBlocked) {
            return false;
        } catch (ExecutionException unexpected) {
            LOG.warn("output pump failed: {}", unexpected.getCause().toString());
        }
        return true;
    }

    /** Passes writes on until shut for good: what a pump reads after the run's end is dropped. */
    private static final class Gate extends OutputStream {
        private final OutputStream to;
        private boolean shut;

        Gate(OutputStream to) {
            this.to = to;
        }

        synchronized void shut() {
            shut = true;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            if (!shut) {
                to.write(b);
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            if (!shut) {
                to.write(b, off, len);
            }
        }

        @Override
        public synchronized void flush() throws IOException {
            if (!shut) {
                to.flush();
            }
        }

        @Override
        public synchronized void close() throws IOException {
            if (!shut) {
                to.close();
            }
        }
    }

    /** Output bytes as data frames; close() is the end of the stream (the masker's EOF flush). */
    private static final class FrameStream extends OutputStream {
        private final Sink sink;
        private final byte kind;

        FrameStream(Sink sink, byte kind) {
            this.sink = sink;
            this.kind = kind;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                int n = Math.min(len, Frame.MAX_DATA_CHUNK);
                sink.data(kind, b, off, n);
                off += n;
                len -= n;
            }
        }
    }
}

package dev.brokerctl.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@code brokerctl} process left running while the test does something else (approves it,
 * signals it, kills it). stdout and stderr are drained all the time; stdout lines can be awaited
 * one by one. When the process ends ({@link #await} or {@link #close}) everything it printed goes
 * to its {@link Brokerctl#transcript}, so the canary checks see it too. In counting mode stdout is
 * only counted, never kept (a gigabyte of output).
 */
final class Spawned {

    /** Marks the end of stdout in {@link #lines}; compared by identity. */
    private static final String EOF = new String("<end of stdout>");

    final Process process;
    private final String what;
    private final StringBuilder transcript;
    private final ByteArrayOutputStream out;
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final AtomicLong outCount = new AtomicLong();
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Thread outPump;
    private final Thread errPump;
    private final Thread inPump;
    private Brokerctl.Result result;

    private Spawned(Process process, String what, StringBuilder transcript, boolean keepStdout, byte[] stdin) {
        this.process = process;
        this.what = what;
        this.transcript = transcript;
        this.out = keepStdout ? new ByteArrayOutputStream() : null;
        outPump = new Thread(() -> pumpStdout(process.getInputStream()), "spawned-stdout-" + process.pid());
        errPump = new Thread(() -> pump(process.getErrorStream(), err), "spawned-stderr-" + process.pid());
        inPump = new Thread(() -> feed(process.getOutputStream(), stdin), "spawned-stdin-" + process.pid());
        outPump.start();
        errPump.start();
        inPump.start();
    }

    /**
     * Starts {@code pb}; {@code stdin} (may be null) is written from a thread of its own and then
     * closed, so a command that echoes it cannot dead-lock against a full pipe.
     */
    static Spawned start(ProcessBuilder pb, String what, StringBuilder transcript, boolean keepStdout, byte[] stdin) {
        try {
            return new Spawned(pb.start(), what, transcript, keepStdout, stdin);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether the process still runs. */
    boolean isAlive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /**
     * The next line of stdout (without its newline). Fails after {@code timeout} or at the end of
     * stdout; the message never contains output, which could hold a value.
     */
    String nextLine(Duration timeout) throws InterruptedException {
        String line = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (line == null) {
            throw new AssertionError(what + ": no line on stdout within " + timeout);
        }
        if (line == EOF) {
            lines.add(EOF);
            throw new AssertionError(what + ": stdout ended before the expected line");
        }
        return line;
    }

    /** Waits for the process to end and for its output; fails (killing it) after {@code timeout}. */
    synchronized Brokerctl.Result await(Duration timeout) throws InterruptedException {
        if (result != null) {
            return result;
        }
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            close();
            throw new AssertionError(what + " did not exit within " + timeout);
        }
        return finish();
    }

    private Brokerctl.Result finish() throws InterruptedException {
        outPump.join();
        errPump.join();
        inPump.join();
        String stdout = "";
        if (out != null) {
            synchronized (out) {
                stdout = out.toString(StandardCharsets.UTF_8);
            }
        }
        result = new Brokerctl.Result(process.exitValue(), stdout, err.toString(StandardCharsets.UTF_8));
        synchronized (transcript) {
            transcript.append(result.out()).append(result.err());
        }
        return result;
    }

    /** Every byte of stdout (only when kept). */
    byte[] stdoutBytes() {
        synchronized (out) {
            return out.toByteArray();
        }
    }

    /** How many bytes the process wrote to stdout so far. */
    long stdoutCount() {
        return outCount.get();
    }

    /** Kills the process if it still runs and waits for it: nothing is left behind by a failed test. */
    synchronized void close() throws InterruptedException {
        if (result != null) {
            return;
        }
        if (process.isAlive()) {
            process.destroyForcibly();
        }
        process.waitFor();
        finish();
    }

    private void pumpStdout(InputStream in) {
        byte[] buf = new byte[64 * 1024];
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                outCount.addAndGet(n);
                if (out == null) {
                    continue;
                }
                synchronized (out) {
                    out.write(buf, 0, n);
                }
                for (int i = 0; i < n; i++) {
                    if (buf[i] == '\n') {
                        lines.add(line.toString(StandardCharsets.UTF_8));
                        line.reset();
                    } else {
                        line.write(buf[i]);
                    }
                }
            }
        } catch (IOException ignored) {
            // the process ended
        } finally {
            if (line.size() > 0) {
                lines.add(line.toString(StandardCharsets.UTF_8));
            }
            lines.add(EOF);
        }
    }

    private static void pump(InputStream in, ByteArrayOutputStream to) {
        try {
            in.transferTo(to);
        } catch (IOException ignored) {
            // the process ended
        }
    }

    private static void feed(OutputStream in, byte[] stdin) {
        try (in) {
            if (stdin != null) {
                in.write(stdin);
            }
        } catch (IOException ignored) {
            // the process ended or closed its stdin early
        }
    }
}

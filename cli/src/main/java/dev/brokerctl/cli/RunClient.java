package dev.brokerctl.cli;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;

/**
 * The requester side of one run: sends the request, relays stdout/stderr frames, forwards stdin
 * once the command started, and turns the outcome into an exit code: the command's own, 128+N
 * for a signal, 124 for a timeout, 125 when the broker failed, 126/127 when the command cannot be
 * executed or found, 1 when the run was denied, 123 when the daemon stopped while the command ran
 * (it was killed with it), 141 (SIGPIPE) when our own output's reader went away.
 */
final class RunClient {

    static final int DAEMON_STOPPED = 123;
    static final int TIMED_OUT = 124;
    static final int BROKER_FAILED = 125;
    /** 128 + SIGPIPE: what a shell reports for a writer whose reader went away. */
    static final int BROKEN_PIPE = 141;
    static final int NOT_EXECUTABLE = 126;
    static final int NOT_FOUND = 127;

    private final BrokerClient client;
    private final OutputStream stdout;
    private final OutputStream stderr;
    private final PrintStream notes;
    private volatile boolean started;
    private volatile long runId = -1;
    private volatile int cancelledBySignal;
    /** stdin bytes the daemon wrote to the command; guards the forwarder's window. */
    private final Object window = new Object();
    private long acked;

    RunClient(BrokerClient client, OutputStream stdout, OutputStream stderr, PrintStream notes) {
        this.client = client;
        this.stdout = stdout;
        this.stderr = stderr;
        this.notes = notes;
    }

    boolean started() {
        return started;
    }

    /** Sends {@code request} and relays the run until it ends; returns the exit code. */
    int run(Message request, InputStream stdin) throws BrokerException {
        client.send(request);
        while (true) {
            Frame f = client.receive();
            if (f == null) {
                notes.println("brokerctl: the daemon closed the connection before the command finished");
                return BROKER_FAILED;
            }
            try {
                switch (f.kind()) {
                    case Frame.STDOUT -> stdout.write(f.payload());
                    case Frame.STDERR -> {
                        stdout.flush();
                        stderr.write(f.payload());
                        stderr.flush();
                    }
                    case Frame.JSON -> {
                        Integer exit = control(Message.parse(f.payload()), stdin);
                        if (exit != null) {
                            stdout.flush();
                            stderr.flush();
                            return exit;
                        }
                    }
                    default -> {
                        notes.println("brokerctl: unexpected " + f + " from the daemon");
                        return BROKER_FAILED;
                    }
                }
            } catch (IOException e) {
                // our own stdout or stderr is gone (a reader that stopped early, | head -1): stop the
                // command and end as a writer to a closed pipe does in a shell pipeline, by SIGPIPE
                cancel();
                return BROKEN_PIPE;
            }
        }
    }

    private Integer control(Message m, InputStream stdin) throws BrokerException {
        switch (m.type()) {
            case "pending" -> {
                runId = m.number("run_id", -1);
                notes.printf("brokerctl: run %d waits for a human to approve it (brokerctl approve);"
                        + " timeout %ds%n", runId, m.number("timeout_ms", 0) / 1000);
                notes.flush();
                return null;
            }
            case "started" -> {
                runId = m.number("run_id", -1);
                started = true;
                List<String> unmasked = m.strings("unmasked");
                if (unmasked != null && !unmasked.isEmpty()) {
                    notes.println("brokerctl: warning: not masked (shorter than 4 bytes): "
                            + String.join(", ", unmasked));
                }
                if (!m.bool("masking", true)) {
                    notes.println("brokerctl: warning: masking is off for this run");
                }
                List<String> narrowed = m.strings("narrowed_to");
                if (narrowed != null) {
                    notes.println("brokerctl: the human narrowed the variables to " + String.join(", ", narrowed)
                            + "; the others are not injected");
                }
                notes.flush();
                if (stdin != null) {
                    forwardStdin(stdin);
                }
                return null;
            }
            case "stdin_ack" -> {
                synchronized (window) {
                    acked = Math.max(acked, m.number("bytes", 0));
                    window.notifyAll();
                }
                return null;
            }
            case "denied" -> {
                if (cancelledBySignal > 0 && "cancelled".equals(m.string("reason", ""))) {
                    return 128 + cancelledBySignal;
                }
                String msg = m.string("message", "");
                notes.println("brokerctl: run denied" + (msg.isEmpty() ? "" : ": " + msg));
                return ExitCodes.FAILURE;
            }
            case "exit" -> {
                if (m.bool("timed_out", false)) {
                    notes.println("brokerctl: the command timed out and was killed");
                    return TIMED_OUT;
                }
                return (int) m.number("exit_code", BROKER_FAILED);
            }
            case "error" -> {
                ErrorCode code = ErrorCode.fromWire(m.string("code", "internal"));
                notes.println("brokerctl: " + m.string("message", "the daemon reported an error"));
                return switch (code) {
                    case COMMAND_NOT_FOUND -> NOT_FOUND;
                    case COMMAND_NOT_EXECUTABLE -> NOT_EXECUTABLE;
                    case DAEMON_STOPPED -> DAEMON_STOPPED;
                    default -> BROKER_FAILED;
                };
            }
            default -> {
                return null;
            }
        }
    }

    /** An inner class, not a lambda: the first lambda of a JVM costs milliseconds on this path. */
    private void forwardStdin(InputStream stdin) {
        Thread t = new Thread(new Runnable() {
            @Override
            public void run() {
                byte[] buf = new byte[Frame.MAX_DATA_CHUNK];
                try {
                    long sent = 0;
                    int n;
                    while ((n = stdin.read(buf)) > 0) {
                        // no more than the daemon's window ahead of what the command has read
                        synchronized (window) {
                            while (sent + n - acked > Frame.STDIN_WINDOW) {
                                window.wait();
                            }
                        }
                        client.sendData(Frame.STDIN, buf, 0, n);
                        sent += n;
                    }
                    client.sendData(Frame.STDIN_EOF, buf, 0, 0);
                } catch (IOException | BrokerException e) {
                    // stdin closed or the run ended
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, "stdin-forwarder");
        t.setDaemon(true);
        t.start();
    }

    /** Forwards a signal to the command, or cancels a run still waiting for approval. */
    void signal(int sig) {
        try {
            if (started) {
                client.send(Message.of("signal").with("signal", sig));
            } else {
                cancelledBySignal = sig;
                cancel();
            }
        } catch (BrokerException e) {
            // the daemon is gone: nothing left to signal
        }
    }

    void cancel() {
        try {
            client.send(Message.of("cancel"));
        } catch (BrokerException ignored) {
            // connection already closed
        }
    }
}

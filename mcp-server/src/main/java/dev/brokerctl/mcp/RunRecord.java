package dev.brokerctl.mcp;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.protocol.Workers;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ObjLongConsumer;

/**
 * One run requested in this MCP session. It owns the run's connection to the daemon; a reader
 * thread turns the connection's frames (pending, started, output, exit, denied, error, as
 * {@code brokerctl run} reads them) into this record, which tool calls read and wait on. Holds
 * masked output only: the daemon masks before it sends.
 */
final class RunRecord implements Waitable {

    enum Status {
        PENDING, RUNNING, COMPLETED, DENIED, TIMED_OUT, FAILED_TO_START;

        String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        boolean settled() {
            return this != PENDING && this != RUNNING;
        }
    }

    private final String localId;
    private final BrokerClient client;
    private final McpLog log;
    private final ObjLongConsumer<RunRecord> onDaemonId;
    private final long timeoutMs;
    private final OutputCapture stdout = new OutputCapture();
    private final OutputCapture stderr = new OutputCapture();
    private final long createdNanos = System.nanoTime();

    // guarded by this
    private long daemonId = -1;
    private Status status = Status.PENDING;
    private long approvalTimeoutMs;
    private long startedNanos;
    private Long exitCode;
    private Long signal;
    private Long durationMs;
    private Long maskedCount;
    private boolean commandTimedOut;
    private boolean stopRequested;
    private List<String> unmasked = List.of();
    private String denyReason = "";
    private String errorCode = "";
    private String detail = "";
    private boolean closing;

    /**
     * @param onDaemonId told the daemon's run id once it is known (to register it as an alias)
     * @param timeoutMs the command's timeout as requested, 0 for none (for messages)
     */
    RunRecord(String localId, BrokerClient client, McpLog log, ObjLongConsumer<RunRecord> onDaemonId,
            long timeoutMs) {
        this.localId = localId;
        this.client = client;
        this.log = log;
        this.onDaemonId = onDaemonId;
        this.timeoutMs = timeoutMs;
    }

    String localId() {
        return localId;
    }

    /** Sends the run request and starts reading the daemon's answer on a thread of its own. */
    void start(Message request, Workers readers) throws BrokerException {
        client.send(request);
        readers.execute("mcp-run-" + localId, this::read);
    }

    private void read() {
        try {
            while (true) {
                Frame f = client.receive();
                if (f == null) {
                    lost("the daemon closed the connection");
                    return;
                }
                switch (f.kind()) {
                    case Frame.STDOUT -> stdout.append(f.payload(), 0, f.payload().length);
                    case Frame.STDERR -> stderr.append(f.payload(), 0, f.payload().length);
                    case Frame.JSON -> {
                        if (control(Message.parse(f.payload()))) {
                            return;
                        }
                    }
                    default -> {
                        lost("the daemon sent an unexpected " + f);
                        return;
                    }
                }
            }
        } catch (BrokerException e) {
            lost(e.getMessage());
        } finally {
            client.close();
        }
    }

    /** Applies one control message; returns true once the run is settled. */
    private boolean control(Message m) throws BrokerException {
        long announced = -1;
        boolean settled;
        synchronized (this) {
            switch (m.type()) {
                case "pending" -> {
                    announced = m.number("run_id", -1);
                    approvalTimeoutMs = m.number("timeout_ms", 0);
                }
                case "started" -> {
                    announced = m.number("run_id", -1);
                    status = Status.RUNNING;
                    startedNanos = System.nanoTime();
                    List<String> u = m.strings("unmasked");
                    unmasked = u == null ? List.of() : List.copyOf(u);
                }
                case "exit" -> {
                    exitCode = m.has("exit_code") ? m.number("exit_code", -1) : null;
                    signal = m.has("signal") ? m.number("signal", 0) : null;
                    durationMs = m.number("duration_ms", elapsedMs(startedNanos));
                    maskedCount = m.number("masked_count", 0);
                    commandTimedOut = m.bool("timed_out", false);
                    status = commandTimedOut ? Status.TIMED_OUT : Status.COMPLETED;
                }
                case "denied" -> {
                    denyReason = m.string("reason", "denied");
                    detail = m.string("message", "");
                    status = "timed_out".equals(denyReason) ? Status.TIMED_OUT : Status.DENIED;
                }
                case "error" -> {
                    errorCode = m.string("code", "internal");
                    detail = m.string("message", "the daemon reported an error");
                    if (status == Status.RUNNING) {
                        // the command ran, but its end was not reported (the daemon is stopping)
                        status = Status.COMPLETED;
                        durationMs = elapsedMs(startedNanos);
                    } else {
                        status = Status.FAILED_TO_START;
                    }
                }
                default -> {
                    // a message this build does not know: not ours to act on
                }
            }
            if (announced >= 0 && daemonId < 0) {
                daemonId = announced;
            } else {
                announced = -1;
            }
            settled = status.settled();
            notifyAll();
        }
        if (announced >= 0) {
            onDaemonId.accept(this, announced);
            log.info("run " + localId + " is daemon run " + announced);
        }
        if (settled) {
            log.info("run " + runIdText() + " " + status.wire());
        }
        return settled;
    }

    private void lost(String why) {
        synchronized (this) {
            if (status.settled() || closing) {
                return;
            }
            errorCode = "internal";
            if (status == Status.RUNNING) {
                status = Status.COMPLETED;
                durationMs = elapsedMs(startedNanos);
                detail = "lost the connection to the brokerctl daemon (" + why + "); the command's outcome is"
                        + " unknown; ask the human to check: brokerctl status";
            } else {
                status = Status.FAILED_TO_START;
                detail = "lost the connection to the brokerctl daemon (" + why + ")";
            }
            notifyAll();
        }
        log.warn("run " + runIdText() + ": " + why);
    }

    /**
     * Asks the daemon to stop the run: it kills a running command's process tree, or withdraws a
     * run still waiting for approval. Returns false when the run had already settled.
     */
    boolean stop() {
        synchronized (this) {
            if (status.settled()) {
                return false;
            }
            stopRequested = true;
        }
        try {
            client.send(Message.of("cancel"));
            log.info("run " + runIdText() + ": stop requested");
        } catch (BrokerException e) {
            // the connection is gone: the daemon cancels a run whose requester went away
        }
        return true;
    }

    @Override
    public synchronized boolean awaitSettled(long millis) throws InterruptedException {
        return Waitable.waitUntilSettled(this, millis);
    }

    /** Settled, or closed with the session: nothing more will change. */
    @Override
    public synchronized boolean settled() {
        return status.settled() || closing;
    }

    /** Closes the connection; the daemon then kills or withdraws the run if it had not ended. */
    void close() {
        synchronized (this) {
            closing = true;
            notifyAll();
        }
        client.close();
    }

    synchronized Object runId() {
        return daemonId >= 0 ? (Object) daemonId : localId;
    }

    private synchronized String runIdText() {
        return daemonId >= 0 ? Long.toString(daemonId) : localId;
    }

    /** What the agent sees: the tool result's structured content. */
    synchronized RunView view() {
        Long duration = durationMs;
        if (duration == null && status == Status.RUNNING) {
            duration = elapsedMs(startedNanos);
        }
        return new RunView(status, runId(), exitCode, stdout.text(), stderr.text(), stdout.truncated(),
                stderr.truncated(), duration, maskedCount, message());
    }

    @Override
    public synchronized String progressMessage() {
        String id = runIdText();
        return switch (status) {
            case PENDING -> daemonId < 0 ? "waiting for the brokerctl daemon" : "run " + id
                    + " is waiting for a human to approve it";
            case RUNNING -> "run " + id + " is running (" + elapsedMs(startedNanos) / 1000 + " s, "
                    + (stdout.totalBytes() + stderr.totalBytes()) + " bytes of output)";
            default -> "run " + id + " " + status.wire();
        };
    }

    private String message() {
        String id = runIdText();
        String quoted = daemonId >= 0 ? id : "\"" + id + "\"";
        switch (status) {
            case PENDING -> {
                if (daemonId < 0) {
                    return "the request was sent to the brokerctl daemon, which has not answered yet (waited "
                            + elapsedMs(createdNanos) / 1000 + " s); call get_run with run_id " + quoted
                            + " to keep waiting";
                }
                return "run " + id + " is waiting for a human to approve it in their brokerctl console"
                        + (approvalTimeoutMs > 0 ? " (it is denied if nobody decides within "
                        + approvalTimeoutMs / 1000 + " s)" : "") + "; call get_run with run_id " + id
                        + " to keep waiting, or stop_run to withdraw it";
            }
            case RUNNING -> {
                return "run " + id + " is still running (" + elapsedMs(startedNanos) / 1000
                        + " s so far; the output so far is included); call get_run with run_id " + id
                        + " to keep waiting, or stop_run to stop it";
            }
            case COMPLETED -> {
                if (exitCode == null) {
                    return detail;
                }
                String how = stopRequested && signal != null
                        ? "the command was stopped on request (killed by signal " + signal + ", exit code " + exitCode + ")"
                        : signal != null ? "the command was killed by signal " + signal + " (exit code " + exitCode + ")"
                        : "the command exited with code " + exitCode;
                return how + maskingNote();
            }
            case TIMED_OUT -> {
                if (commandTimedOut) {
                    return "the command did not finish within its timeout"
                            + (timeoutMs > 0 ? " of " + timeoutMs / 1000 + " s" : "")
                            + " and was killed (exit code " + exitCode + "); the output up to then is included;"
                            + " run it again with a larger timeout_seconds if it needs longer" + maskingNote();
                }
                return "nobody approved run " + id + " in time" + (detail.isEmpty() ? "" : " (" + detail + ")")
                        + "; ask the human to watch their brokerctl approval console, then call run_command again";
            }
            case DENIED -> {
                if (stopRequested && "cancelled".equals(denyReason)) {
                    return "run " + id + " was withdrawn before anyone approved it; the command did not run";
                }
                return "a human denied run " + id + (detail.isEmpty() ? "" : ": " + detail)
                        + "; the command did not run; do not retry it unchanged, ask the human what they expect";
            }
            case FAILED_TO_START -> {
                return "the command did not run: " + Daemon.advice(errorCode, detail, "run_command");
            }
            default -> {
                return status.wire();
            }
        }
    }

    private String maskingNote() {
        StringBuilder b = new StringBuilder();
        if (maskedCount != null && maskedCount > 0) {
            b.append("; ").append(maskedCount).append(maskedCount == 1 ? " secret value was" : " secret values were")
                    .append(" masked in the output as [MASKED:NAME]");
        }
        if (!unmasked.isEmpty()) {
            b.append("; warning: not masked because shorter than 4 bytes: ").append(String.join(", ", unmasked));
        }
        return b.toString();
    }

    private static long elapsedMs(long sinceNanos) {
        return sinceNanos == 0 ? 0 : (System.nanoTime() - sinceNanos) / 1_000_000L;
    }

    /** Output may hold anything the command printed: print the state only. */
    @Override
    public synchronized String toString() {
        return "RunRecord[" + runIdText() + ", " + status.wire() + ", stdout " + stdout + ", stderr " + stderr + "]";
    }

    /** A run as a tool returns it. */
    record RunView(Status status, Object runId, Long exitCode, String stdout, String stderr,
            boolean stdoutTruncated, boolean stderrTruncated, Long durationMs, Long maskedCount, String message) {

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("status", status.wire());
            m.put("run_id", runId);
            m.put("exit_code", exitCode);
            m.put("stdout", stdout);
            m.put("stderr", stderr);
            m.put("stdout_truncated", stdoutTruncated);
            m.put("stderr_truncated", stderrTruncated);
            m.put("duration_ms", durationMs);
            m.put("masked_count", maskedCount);
            m.put("message", message);
            return m;
        }

        /** Never the output: it is the command's, masked or not. */
        @Override
        public String toString() {
            return "RunView[" + runId + ", " + status.wire() + ", exit " + exitCode + ", stdout " + stdout.length()
                    + " chars, stderr " + stderr.length() + " chars]";
        }
    }
}

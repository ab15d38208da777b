package dev.brokerctl.daemon;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs a requester detached from its connection (the MCP server does, for every run an agent
 * starts): they belong to the daemon, not to the connection or MCP session that asked, so any
 * later connection can read, wait for or stop them by their handle. A {@code brokerctl run} never
 * comes here: it stays attached to its connection and dies with it.
 *
 * <p>Each run is addressed by an unguessable handle (128 random bits), not by its run id, which is
 * a number the human sees. Output is held as the runner wrote it, after masking: nothing
 * unmasked is ever stored here. Bounded, as documented in docs/architecture.md: the last
 * {@link #KEEP} runs, a finished run at most {@link #RETENTION} after it ended, each stream's first
 * {@link RunOutput#HEAD_BYTES} and last {@link RunOutput#TAIL_BYTES}, and at most
 * {@link #MAX_HELD_BYTES} of finished runs' output in all (the oldest finished runs' output goes
 * first; their state stays).
 */
final class DetachedRuns {

    static final int KEEP = 100;
    static final Duration RETENTION = Duration.ofHours(1);
    static final long MAX_HELD_BYTES = 64L * 1024 * 1024;
    static final int DEFAULT_PAGE_BYTES = 8000;
    static final int MAX_PAGE_BYTES = 64 * 1024;
    static final int MAX_LIST = 100;
    /**
     * Detached runs pending approval or running, in all and per requesting process: each holds a
     * thread and its output while it is active, and keeps the vault from its idle lock.
     */
    static final int MAX_ACTIVE = 64;
    static final int MAX_ACTIVE_PER_PID = 16;

    /** One meaning each; the wire name is the lower-case name. */
    enum Status {
        /** Waiting for a human's decision. */
        PENDING_APPROVAL,
        RUNNING,
        /** The command ran and exited on its own ({@code exit_code}). */
        COMPLETED,
        /** The command ran past its own timeout and was killed. */
        TIMED_OUT,
        /** Nobody decided within the approval timeout; the command never ran. */
        APPROVAL_TIMED_OUT,
        /** A human (or a rule in the human's name: a repeated denial, a limit) refused it. */
        DENIED,
        /** It could not start: a missing command, a locked vault, a missing variable. */
        FAILED_TO_START,
        /** A requester stopped it ({@code run_stop}): killed, or withdrawn before a decision. */
        STOPPED,
        /** The daemon stopped while the run waited or ran; it was killed with it. */
        DAEMON_STOPPED;

        String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        boolean settled() {
            return this != PENDING_APPROVAL && this != RUNNING;
        }

        static Status fromWire(String s) {
            for (Status v : values()) {
                if (v.wire().equals(s)) {
                    return v;
                }
            }
            return null;
        }
    }

    private final SecureRandom random;
    private final java.time.Clock clock;
    /** Insertion order is age order. */
    private final Map<String, Entry> byHandle = new LinkedHashMap<>();
    private boolean stopping;
    private int waiters;

    DetachedRuns(SecureRandom random, java.time.Clock clock) {
        this.random = random;
        this.clock = clock;
    }

    /** Registers a run that is about to be executed; its entry is the run's sink. */
    /** @throws BrokerException (too_many) when {@code requester} may not start another detached run now */
    synchronized void checkRoom(Run.Requester requester) throws BrokerException {
        long pid = requester.peer().pid();
        int all = 0;
        int mine = 0;
        for (Entry e : byHandle.values()) {
            if (!e.status().settled()) {
                all++;
                if (pid > 0 && e.run.requester().peer().pid() == pid) {
                    mine++;
                }
            }
        }
        if (all >= MAX_ACTIVE || mine >= MAX_ACTIVE_PER_PID) {
            throw new BrokerException(dev.brokerctl.protocol.ErrorCode.TOO_MANY, (mine >= MAX_ACTIVE_PER_PID
                    ? mine + " detached runs of this process are" : all + " detached runs are")
                    + " pending approval or running (the limit is " + (mine >= MAX_ACTIVE_PER_PID ? MAX_ACTIVE_PER_PID
                    : MAX_ACTIVE) + "); wait for one to end or stop one (run_stop), then ask again");
        }
    }

    Entry add(Run run) {
        Entry e = new Entry(newHandle(), run, clock.instant());
        synchronized (this) {
            byHandle.put(e.handle, e);
            evict();
            if (stopping) {
                e.daemonStopping();
            }
        }
        return e;
    }

    synchronized Entry find(String handle) {
        return handle == null ? null : byHandle.get(handle);
    }

    /**
     * The newest entries first, at most {@code limit}; {@code state} filters: null for all,
     * "active" (pending approval or running), "finished", or one status's wire name.
     */
    synchronized List<Entry> list(String state, int limit) {
        evict();
        List<Entry> all = new ArrayList<>(byHandle.values());
        List<Entry> out = new ArrayList<>();
        for (int i = all.size() - 1; i >= 0 && out.size() < limit; i--) {
            Entry e = all.get(i);
            Status s = e.status();
            boolean match = state == null || ("active".equals(state) && !s.settled())
                    || ("finished".equals(state) && s.settled()) || s.wire().equals(state);
            if (match) {
                out.add(e);
            }
        }
        return out;
    }

    /** Whether {@code state} is a filter {@link #list} understands. */
    static boolean knownState(String state) {
        return state == null || "active".equals(state) || "finished".equals(state) || Status.fromWire(state) != null;
    }

    synchronized int size() {
        return byHandle.size();
    }

    /** The daemon begins to stop: every run not settled yet ends as {@link Status#DAEMON_STOPPED}. */
    void stopping() {
        List<Entry> all;
        synchronized (this) {
            stopping = true;
            all = new ArrayList<>(byHandle.values());
        }
        all.forEach(Entry::daemonStopping);
    }

    /** Settles what the runs' own ends did not (a run thread that did not finish in time). */
    void settleAll(String why) {
        List<Entry> all;
        synchronized (this) {
            all = new ArrayList<>(byHandle.values());
        }
        for (Entry e : all) {
            e.settle(Status.DAEMON_STOPPED, why);
        }
    }

    /** A connection waits on an entry; {@link #awaitNoWaiters} lets it answer before connections close. */
    synchronized void waiting(int delta) {
        waiters += delta;
        notifyAll();
    }

    synchronized boolean awaitNoWaiters(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (waiters > 0) {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
    }

    // ------------------------------------------------------------------ requests

    /** Longest a {@code run_get} waits in one request; a reader that wants more asks again. */
    static final long MAX_WAIT_MS = 60_000;
    /** How long {@code run_stop} waits for the run to confirm it ended. */
    static final long STOP_CONFIRM_MS = 10_000;

    /**
     * {@code run_get {handle, stdout_offset?, stderr_offset?, max_bytes?, wait_ms?}}: waits up to
     * {@code wait_ms} for the run to settle, then answers its state and a page of each stream.
     */
    Message get(Message m) throws dev.brokerctl.protocol.BrokerException, InterruptedException {
        Entry e = require(m);
        long waitMs = Math.max(0, Math.min(MAX_WAIT_MS, m.number("wait_ms", 0)));
        int max = (int) Math.max(1, Math.min(MAX_PAGE_BYTES, m.number("max_bytes", DEFAULT_PAGE_BYTES)));
        Long out = offset(m, "stdout_offset");
        Long err = offset(m, "stderr_offset");
        if (waitMs > 0) {
            waiting(1);
            try {
                e.awaitSettled(waitMs);
            } finally {
                waiting(-1);
            }
        }
        return e.state(out, err, max);
    }

    /** {@code run_stop {handle}}: kills or withdraws the run, waits for it to end, answers its state. */
    Message stop(Message m) throws dev.brokerctl.protocol.BrokerException, InterruptedException {
        Entry e = require(m);
        boolean asked = e.stop();
        if (asked) {
            waiting(1);
            try {
                e.awaitSettled(STOP_CONFIRM_MS);
            } finally {
                waiting(-1);
            }
        }
        int max = (int) Math.max(1, Math.min(MAX_PAGE_BYTES, m.number("max_bytes", DEFAULT_PAGE_BYTES)));
        return e.state(null, null, max).with("was_settled", !asked);
    }

    /** {@code run_list {state?, limit?}}: the newest detached runs, state only. */
    Message list(Message m) throws dev.brokerctl.protocol.BrokerException {
        String state = m.string("state", null);
        if (!knownState(state)) {
            throw new dev.brokerctl.protocol.BrokerException(dev.brokerctl.protocol.ErrorCode.INVALID, "unknown run"
                    + " state '" + Log.safe(state) + "'; use active, finished, or one of: " + statusNames());
        }
        int limit = (int) Math.max(1, Math.min(MAX_LIST, m.number("limit", 20)));
        List<Object> items = new ArrayList<>();
        for (Entry e : list(state, limit)) {
            items.add(e.summary());
        }
        return Message.of("run_list").with("runs", items).with("held", size()).with("keep", KEEP)
                .with("retention_ms", RETENTION.toMillis());
    }

    static String statusNames() {
        List<String> names = new ArrayList<>();
        for (Status s : Status.values()) {
            names.add(s.wire());
        }
        return String.join(", ", names);
    }

    private Entry require(Message m) throws dev.brokerctl.protocol.BrokerException {
        String handle = m.string("handle");
        Entry e = find(handle);
        if (e == null) {
            throw new dev.brokerctl.protocol.BrokerException(dev.brokerctl.protocol.ErrorCode.NOT_FOUND,
                    "no run with that handle: this daemon keeps the last " + KEEP + " detached runs, each up to "
                            + dev.brokerctl.protocol.Durations.format(RETENTION) + " after it ended, in memory only"
                            + " (a daemon restart forgets them)");
        }
        return e;
    }

    private static Long offset(Message m, String key) throws dev.brokerctl.protocol.BrokerException {
        if (!m.has(key)) {
            return null;
        }
        long v = m.number(key, 0);
        if (v < 0) {
            throw new dev.brokerctl.protocol.BrokerException(dev.brokerctl.protocol.ErrorCode.INVALID,
                    key + " must not be negative");
        }
        return v;
    }

    /** Retention: finished runs past {@link #RETENTION} or beyond {@link #KEEP}; output past the cap. */
    private void evict() {
        Instant now = clock.instant();
        byHandle.values().removeIf(e -> e.settledBefore(now.minus(RETENTION)));
        for (Iterator<Entry> it = byHandle.values().iterator(); it.hasNext() && byHandle.size() > KEEP;) {
            if (it.next().status().settled()) {
                it.remove();
            }
        }
        long held = 0;
        List<Entry> newestFirst = new ArrayList<>(byHandle.values());
        java.util.Collections.reverse(newestFirst);
        for (Entry e : newestFirst) {
            if (!e.status().settled()) {
                continue;
            }
            held += e.held();
            if (held > MAX_HELD_BYTES) {
                e.discardOutput();
            }
        }
    }

    private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();

    /** {@code r_} and 26 base-32 characters of 128 random bits. */
    private String newHandle() {
        byte[] b = new byte[16];
        random.nextBytes(b);
        StringBuilder s = new StringBuilder("r_");
        int buffer = 0;
        int bits = 0;
        for (byte x : b) {
            buffer = (buffer << 8) | (x & 0xff);
            bits += 8;
            while (bits >= 5) {
                s.append(BASE32[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0) {
            s.append(BASE32[(buffer << (5 - bits)) & 31]);
        }
        return s.toString();
    }

    /** One detached run: the runner's and the pipeline's sink, and what readers see. */
    final class Entry implements Runner.Sink {

        final String handle;
        private final Run run;
        private final Instant requestedAt;
        private final RunOutput stdout = new RunOutput();
        private final RunOutput stderr = new RunOutput();

        // guarded by this
        private Status status = Status.PENDING_APPROVAL;
        private boolean stopRequested;
        private boolean daemonStopping;
        private long approvalTimeoutMs;
        private Instant startedAt;
        private Instant settledAt;
        private Long exitCode;
        private Long signal;
        private Long durationMs;
        private Long maskedCount;
        private List<String> unmasked = List.of();
        /** The names a human narrowed a request for all variables to, or null. */
        private List<String> narrowedTo;
        private String errorCode = "";
        private String detail = "";

        private Entry(String handle, Run run, Instant requestedAt) {
            this.handle = handle;
            this.run = run;
            this.requestedAt = requestedAt;
        }

        Run run() {
            return run;
        }

        synchronized Status status() {
            return status;
        }

        private synchronized boolean settledBefore(Instant t) {
            return settledAt != null && settledAt.isBefore(t);
        }

        private long held() {
            return stdout.held() + stderr.held();
        }

        private void discardOutput() {
            stdout.discard();
            stderr.discard();
        }

        @Override
        public void data(byte kind, byte[] b, int off, int len) {
            if (kind == Frame.STDOUT) {
                stdout.append(b, off, len);
            } else if (kind == Frame.STDERR) {
                stderr.append(b, off, len);
            }
        }

        /** The pipeline's and the runner's messages, as a {@code brokerctl run} client would read them. */
        @Override
        public void message(Message m) {
            try {
                // read as a client would: built in-process, its numbers may be Integers
                apply(Message.parse(m.toJson()));
            } catch (dev.brokerctl.protocol.BrokerException e) {
                settle(Status.FAILED_TO_START, "the daemon could not read its own '" + m.type() + "' message");
            }
        }

        private synchronized void apply(Message m) throws dev.brokerctl.protocol.BrokerException {
            if (status.settled()) {
                return;
            }
            switch (m.type()) {
                case "pending" -> approvalTimeoutMs = m.number("timeout_ms", 0);
                case "started" -> {
                    status = Status.RUNNING;
                    startedAt = clock.instant();
                    List<String> u = m.strings("unmasked");
                    unmasked = u == null ? List.of() : List.copyOf(u);
                    narrowedTo = m.strings("narrowed_to");
                }
                case "exit" -> {
                    exitCode = m.number("exit_code", -1);
                    signal = m.has("signal") ? m.number("signal", 0) : null;
                    durationMs = m.number("duration_ms", 0);
                    maskedCount = m.number("masked_count", 0);
                    finish(stopRequested ? Status.STOPPED : daemonStopping ? Status.DAEMON_STOPPED
                            : m.bool("timed_out", false) ? Status.TIMED_OUT : Status.COMPLETED);
                }
                case "denied" -> {
                    String reason = m.string("reason", "denied");
                    detail = m.string("message", "");
                    finish(switch (reason) {
                        case "timed_out" -> Status.APPROVAL_TIMED_OUT;
                        case "cancelled" -> stopRequested ? Status.STOPPED
                                : daemonStopping ? Status.DAEMON_STOPPED : Status.STOPPED;
                        default -> Status.DENIED;
                    });
                }
                case "error" -> {
                    errorCode = m.string("code", "internal");
                    detail = m.string("message", "");
                    if (m.has("exit_code")) {
                        exitCode = m.number("exit_code", -1);
                        durationMs = m.number("duration_ms", 0);
                        maskedCount = m.number("masked_count", 0);
                    }
                    boolean ran = status == Status.RUNNING;
                    if (ran && durationMs == null && startedAt != null) {
                        durationMs = Duration.between(startedAt, clock.instant()).toMillis();
                    }
                    finish(daemonStopping || ran || "daemon_stopped".equals(errorCode) ? Status.DAEMON_STOPPED
                            : Status.FAILED_TO_START);
                }
                default -> {
                    // stdin_ack and the like: nothing a reader needs
                }
            }
        }

        private void finish(Status s) {
            status = s;
            settledAt = clock.instant();
            notifyAll();
        }

        /** Settles from outside the run (the daemon stops); no-op once settled. */
        synchronized void settle(Status s, String why) {
            if (status.settled()) {
                return;
            }
            if (detail.isEmpty()) {
                detail = why;
            }
            finish(s);
        }

        private synchronized void daemonStopping() {
            daemonStopping = true;
        }

        /** Asks the run to stop: kills it, or withdraws it from the approval queue. False once settled. */
        boolean stop() {
            synchronized (this) {
                if (status.settled()) {
                    return false;
                }
                stopRequested = true;
            }
            run.cancel();
            return true;
        }

        synchronized boolean awaitSettled(long millis) throws InterruptedException {
            long deadline = System.nanoTime() + millis * 1_000_000L;
            while (!status.settled()) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    return false;
                }
                wait(left);
            }
            return true;
        }

        /** Everything but output: for lists, and the head of {@link #state}. */
        synchronized Message summary() {
            RunRequest q = run.request();
            Message m = Message.of("run_state").with("handle", handle).with("run_id", run.id())
                    .with("status", status.wire()).with("environment", q.environment()).with("argv", q.argv())
                    .with("variables", narrowedTo != null ? narrowedTo : q.variables() == null ? List.of("*") : q.variables())
                    .with("narrowed", narrowedTo != null)
                    .with("reason", q.reason()).with("requested_at", requestedAt.toString())
                    .with("exit_code", exitCode).with("signal", signal).with("masked_count", maskedCount)
                    .with("unmasked", unmasked).with("approval_timeout_ms", approvalTimeoutMs)
                    .with("timeout_ms", q.timeoutMs()).with("error_code", errorCode).with("detail", detail)
                    .with("stop_requested", stopRequested);
            Long duration = durationMs;
            if (duration == null && startedAt != null) {
                duration = Duration.between(startedAt, clock.instant()).toMillis();
            }
            m.with("duration_ms", duration);
            if (status == Status.PENDING_APPROVAL) {
                m.with("waited_ms", Duration.between(requestedAt, clock.instant()).toMillis());
            }
            return m;
        }

        /** The summary with a page of each stream (see {@link RunOutput#page}). */
        Message state(Long stdoutOffset, Long stderrOffset, int maxBytes) {
            Message m = summary();
            m.with("stdout", stdout.page(stdoutOffset, maxBytes)).with("stderr", stderr.page(stderrOffset, maxBytes));
            return m;
        }

        /** Output is the command's: state only. */
        @Override
        public synchronized String toString() {
            return "DetachedRun[" + run.id() + " " + status.wire() + " " + stdout + " " + stderr + "]";
        }
    }
}

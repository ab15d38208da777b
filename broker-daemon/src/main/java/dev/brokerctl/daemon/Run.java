package dev.brokerctl.daemon;

import java.time.Instant;

/** One requested run, from request through decision to exit. */
final class Run {

    enum State { PENDING, RUNNING, FINISHED }

    private final long id;
    private final RunRequest request;
    private final Requester requester;
    private final Instant requestedAt;
    private volatile State state = State.PENDING;
    private volatile Process process;
    private volatile Launcher launcher;
    private final StdinPipe stdinPipe;
    private volatile boolean cancelled;
    /** Set when the daemon's shutdown cancelled the run (the requester is told so). */
    private volatile boolean daemonStopped;
    /** Started detached from its connection ({@link DetachedRuns}): it belongs to the daemon. */
    private volatile boolean detached;
    private volatile java.util.concurrent.CompletableFuture<Decision> decision;
    private volatile Resolved resolved;
    private volatile boolean hostFileSystem;
    private volatile java.util.Map<String, Object> description = java.util.Map.of();
    private volatile String requestHash = "";
    private volatile String code = "";
    private volatile java.util.List<String> valueInArgv = java.util.List.of();
    /** The names a human narrowed a request for all variables to (null: not narrowed). */
    private volatile java.util.List<String> narrowedTo;

    /**
     * Who asked: what the daemon verified of the connection ({@code peer}), and what the client
     * claims about itself (name, version, pid), shown as claimed.
     */
    record Requester(Peer peer, String clientName, String clientVersion, long claimedPid) {
    }

    /** What the request resolved to when it was asked for: this is what the human approves. */
    record Resolved(Executable executable, java.nio.file.Path cwd, ChildEnvironment environment) {
    }

    Run(long id, RunRequest request, Requester requester, Instant requestedAt) {
        this.id = id;
        this.request = request;
        this.requester = requester;
        this.requestedAt = requestedAt;
        this.stdinPipe = request.forwardStdin() ? new StdinPipe() : null;
    }

    long id() {
        return id;
    }

    RunRequest request() {
        return request;
    }

    Requester requester() {
        return requester;
    }

    Instant requestedAt() {
        return requestedAt;
    }

    /** Binds the run to what it resolved to, its request hash and one-time code, before anyone sees it. */
    void identify(Resolved what, String hash, String oneTimeCode) {
        this.resolved = what;
        this.requestHash = hash;
        this.code = oneTimeCode;
    }

    /** What approver consoles are shown of this run, made once when it is put before them. */
    void describe(java.util.Map<String, Object> shown) {
        this.description = shown;
    }

    void narrowTo(java.util.List<String> names) {
        this.narrowedTo = names;
    }

    /** The names a human narrowed this request for all variables to, or null. */
    java.util.List<String> narrowedTo() {
        return narrowedTo;
    }

    java.util.Map<String, Object> description() {
        return description;
    }

    /** Every environment of the run has the {@code host} run profile: the command sees all of the file system. */
    void hostFileSystem(boolean host) {
        this.hostFileSystem = host;
    }

    boolean hostFileSystem() {
        return hostFileSystem;
    }

    Resolved resolved() {
        return resolved;
    }

    String requestHash() {
        return requestHash;
    }

    String code() {
        return code;
    }

    /** Names of variables whose value appears literally in argv (a risk hint; names only). */
    void valueInArgv(java.util.List<String> names) {
        this.valueInArgv = java.util.List.copyOf(names);
    }

    java.util.List<String> valueInArgv() {
        return valueInArgv;
    }

    State state() {
        return state;
    }

    void started(Process p, Launcher how) {
        this.launcher = how;
        this.process = p;
        this.state = State.RUNNING;
    }

    void finished() {
        state = State.FINISHED;
    }

    Process process() {
        return process;
    }

    boolean cancelled() {
        return cancelled;
    }

    /** Waits for the human; {@link #cancel()} ends the wait. */
    Decision awaitDecision(java.util.concurrent.CompletableFuture<Decision> pending)
            throws InterruptedException, java.util.concurrent.ExecutionException {
        decision = pending;
        if (cancelled) {
            pending.complete(new Decision(Decision.Kind.CANCELLED, "cancelled", "requester"));
        }
        return pending.get();
    }

    void detach() {
        this.detached = true;
    }

    boolean detached() {
        return detached;
    }

    /** The daemon stops: cancels the run, which then reports {@code daemon_stopped}. */
    void stopByDaemon() {
        daemonStopped = true;
        cancel();
    }

    boolean daemonStopped() {
        return daemonStopped;
    }

    /** Kills the run's process group; a pending run stops waiting for its decision. */
    void cancel() {
        if (state == State.FINISHED) {
            return;
        }
        cancelled = true;
        if (stdinPipe != null) {
            stdinPipe.close();
        }
        java.util.concurrent.CompletableFuture<Decision> d = decision;
        if (d != null) {
            d.complete(new Decision(Decision.Kind.CANCELLED, "cancelled", "requester"));
        }
        Process p = process;
        if (p != null) {
            launcher.kill(p);
        }
    }

    void signal(int sig) {
        Process p = process;
        if (p != null) {
            launcher.signal(p, sig);
        }
    }

    /** The run's stdin, or null when the request did not attach one. */
    StdinPipe stdin() {
        return stdinPipe;
    }

    @Override
    public String toString() {
        return "Run[" + id + " " + state + " " + request + "]";
    }
}

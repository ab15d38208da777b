package dev.brokerctl.daemon;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.protocol.Workers;
import dev.brokerctl.vault.Policy;
import dev.brokerctl.vault.ResolvedValues;
import dev.brokerctl.vault.SecretValue;
import dev.brokerctl.vault.VaultException;
import dev.brokerctl.vault.VaultIntegrityException;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker daemon: a Unix socket server that holds the unlocked vault, queues runs for
 * approval and runs approved commands with their values injected. {@link #start()} returns once
 * the socket is bound (the daemon is ready); {@link #shutdown()} is idempotent and leaves no
 * socket file, child process or thread behind.
 */
public final class Daemon implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Daemon.class);

    /** Why the daemon could not start; the message says what to do. */
    public static final class StartException extends Exception {
        public StartException(String message) {
            super(message);
        }
    }

    private final DaemonConfig config;
    private final VaultHolder vault;
    private final Approvals approvals;
    private final VariableRequests variableRequests;
    private final Grants grants;
    private final Prompts prompts;
    private final Set<Connection> watchers = ConcurrentHashMap.newKeySet();
    private final Runner runner;
    private final long startedAt;
    private final AtomicLong runIds = new AtomicLong();
    private final AtomicLong connectionIds = new AtomicLong();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    /** Guards {@link #serving}; notified when a connection task ends. */
    private final Object servingLock = new Object();
    /** Connection tasks that have not ended. */
    private int serving;
    private final Map<Long, Run> active = new ConcurrentHashMap<>();
    private final DetachedRuns detachedRuns;
    private final Workers workers;
    private final String owner = System.getProperty("user.name");
    private ServerSocketChannel server;
    private FileChannel lockChannel;
    private FileLock lock;
    private Thread acceptor;
    private Admission admission;
    private final Admission.Slots slots;
    private ScheduledExecutorService timers;
    /** Goes through the run path once at start (null: turned off in the config). */
    private final WarmUp warmUp;
    /** Set by the first real run request: the warm-up yields to it. */
    private volatile boolean runRequested;
    private volatile Thread warmUpThread;

    public Daemon(DaemonConfig config) {
        this.config = config;
        // Idle threads end after 5 s: after a storm of connections the thread count is back within seconds.
        this.workers = new Workers("worker", java.time.Duration.ofSeconds(5));
        this.slots = new Admission.Slots(config.limits());
        this.vault = new VaultHolder(config.vaultFile(), config.clock(), config.idleLock(),
                task -> workers.execute("audit", task));
        this.approvals = new Approvals(config.approvalTimeout());
        this.variableRequests = new VariableRequests(config.approvalTimeout());
        this.grants = new Grants(config.clock());
        this.prompts = new Prompts();
        this.detachedRuns = new DetachedRuns(new java.security.SecureRandom(), config.clock());
        Spawner spawner = new Spawner();
        this.warmUp = config.warmUp() ? new WarmUp(new WarmUp.Host() {
            @Override
            public Run.Resolved resolve(RunRequest q) throws BrokerException {
                return Daemon.this.resolve(q);
            }

            @Override
            public Runner runner() {
                return runner;
            }

            @Override
            public Map<String, String> environment() {
                return config.environment();
            }

            @Override
            public java.time.Clock clock() {
                return config.clock();
            }

            @Override
            public boolean yieldToRuns() {
                return runRequested || stopped.get();
            }
        }) : null;
        this.runner = new Runner(config.clock(), workers, config.containRuns()
                ? Launcher.forThisHost(spawner, home(config), config.vaultFile().toAbsolutePath().getParent())
                : new GroupLauncher(spawner, "turned off for this daemon"));
        this.startedAt = config.clock().millis();
    }

    private static Path home(DaemonConfig config) {
        String home = config.environment().get("HOME");
        return home != null && home.startsWith("/") ? Path.of(home) : null;
    }

    /** Unlocks the vault before or after start (foreground daemon with a passphrase). */
    public void unlock(char[] passphrase) throws VaultException, BrokerException {
        vault.unlock(passphrase);
    }

    public boolean isLocked() {
        return vault.isLocked();
    }

    /** Binds the socket and starts serving; the daemon is ready when this returns. */
    public synchronized void start() throws StartException {
        if (!Files.isRegularFile(config.vaultFile())) {
            throw new StartException("no vault at " + config.vaultFile() + "; create one with: brokerctl init");
        }
        boolean hardened = Posix.setNonDumpable();
        Path socket = config.socket();
        prepareDirectory(socket.getParent());
        if (socket.toString().getBytes(StandardCharsets.UTF_8).length > dev.brokerctl.protocol.BrokerPaths.MAX_SOCKET_PATH_BYTES) {
            throw new StartException("the socket path " + socket + " is longer than 107 bytes, the Unix"
                    + " limit; set BROKERCTL_SOCKET to a shorter path");
        }
        takeLock(socket);
        try {
            removeStaleSocket(socket);
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket), 256);
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
            admission = new Admission(this, server, config.limits());
        } catch (IOException e) {
            releaseLock();
            throw new StartException("cannot listen on " + socket + ": " + e.getMessage());
        }
        runner.launcher().open(socket);
        timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "idle-lock");
            t.setDaemon(true);
            return t;
        });
        timers.scheduleWithFixedDelay(this::lockIfIdle, 1, 1, TimeUnit.SECONDS);
        timers.scheduleWithFixedDelay(this::checkConnectionDeadlines, 1, 1, TimeUnit.SECONDS);
        acceptor = new Thread(admission, "accept");
        acceptor.start();
        if (warmUp != null) {
            Thread w = new Thread(warmUp, "warm-up");
            w.setDaemon(true);
            w.start();
            warmUpThread = w;
        }
        LOG.info("daemon {} listening on {} ({}; idle lock {}, approval timeout {})",
                ProcessHandle.current().pid(), socket, hardened ? "non-dumpable" : "NOT non-dumpable: no libc",
                dev.brokerctl.protocol.Durations.format(config.idleLock()),
                dev.brokerctl.protocol.Durations.format(config.approvalTimeout()));
        LOG.info("{}", Install.describe());
        if (JnaNative.loadedElsewhere() == null) {
            LOG.info("{}", JnaNative.report());
        } else {
            LOG.warn("{}", JnaNative.report());
        }
        if (!ProcessTree.groupsAvailable()) {
            LOG.warn("setsid or libc missing: runs do not get their own process group; orphans of a"
                    + " run may survive it");
        }
        if (runner.launcher().contained()) {
            LOG.info(runner.launcher().description());
        } else {
            LOG.warn(runner.launcher().description());
        }
        if (!Peer.verifiable()) {
            LOG.warn("requesters' pids cannot be verified (the JVM was started without"
                    + " --add-opens=java.base/sun.nio.ch=ALL-UNNAMED; start the daemon with bin/brokerctl):"
                    + " consoles show them as unverified");
        }
    }

    private static void prepareDirectory(Path dir) throws StartException {
        try {
            if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            }
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
            String dirOwner = Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).getName();
            if (!dirOwner.equals(System.getProperty("user.name"))) {
                throw new StartException("the socket directory " + dir + " belongs to " + dirOwner
                        + "; put the socket in a directory of your own (BROKERCTL_SOCKET)");
            }
            if (!perms.equals(PosixFilePermissions.fromString("rwx------"))) {
                throw new StartException("the socket directory " + dir + " is "
                        + PosixFilePermissions.toString(perms) + "; it must be private: chmod 700 " + dir);
            }
        } catch (IOException e) {
            throw new StartException("cannot prepare the socket directory " + dir + ": " + e.getMessage());
        }
    }

    /** One daemon per socket: an exclusive lock on SOCKET.lock held for the daemon's life. */
    private void takeLock(Path socket) throws StartException {
        Path lockFile = socket.resolveSibling(socket.getFileName() + ".lock");
        try {
            lockChannel = FileChannel.open(lockFile, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            lock = lockChannel.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null;   // held by another daemon in this same JVM (tests, demo)
        } catch (IOException e) {
            throw new StartException("cannot lock " + lockFile + ": " + e.getMessage());
        }
        if (lock == null) {
            try {
                lockChannel.close();
            } catch (IOException ignored) {
                // giving up anyway
            }
            throw new StartException("a brokerctl daemon is already running on " + socket
                    + "; check it with: brokerctl status, or stop it with: brokerctl stop");
        }
    }

    private void releaseLock() {
        try {
            if (lock != null) {
                lock.release();
            }
            if (lockChannel != null) {
                lockChannel.close();
            }
        } catch (IOException ignored) {
            // the lock dies with the process anyway
        }
    }

    /** A socket file nobody listens on is left by a daemon that died; replace it. */
    private static void removeStaleSocket(Path socket) throws IOException {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
            throw new IOException("another process is listening on it");
        } catch (ConnectException e) {
            LOG.info("replacing stale socket {}", socket);
            Files.delete(socket);
        }
    }

    /**
     * A connection {@link Admission} read the hello and first request of: it takes a slot
     * (requester or approver, docs/architecture.md "Connection limits") and a thread, or is told
     * which limit it met.
     */
    void admit(SocketChannel ch, long pid, Message hello, Frame first, boolean handshake) {
        if (stopped.get()) {
            closeQuietly(ch);
            return;
        }
        Connection c = new Connection(this, ch, connectionIds.incrementAndGet(), hello, first);
        String refusal = slots.take(c, pid, handshake);
        if (refusal != null) {
            Log.perConnection(LOG, "refused a connection of pid {}: {}", pid, refusal);
            try {
                c.sendError(ErrorCode.TOO_MANY_CONNECTIONS, refusal);
            } catch (IOException ignored) {
                // refusing anyway
            }
            closeQuietly(ch);
            return;
        }
        connections.add(c);
        synchronized (servingLock) {
            serving++;
        }
        try {
            workers.execute("connection-" + connectionIds.get(), c);
        } catch (RuntimeException | OutOfMemoryError e) {
            // no thread for it: its slot and its count go back, and Admission closes the channel
            forget(c);
            ended();
            throw e;
        }
    }

    /** A handshake on {@code c} finished: it keeps its approver slot past the handshake time limit. */
    void proven(Connection c) {
        slots.proven(c);
    }

    private void checkConnectionDeadlines() {
        long now = System.nanoTime();
        for (Connection c : connections) {
            c.checkDeadlines(now, config.limits(), slots);
        }
    }

    /** What the connection limits hold now, for {@code status}. */
    private Map<String, Object> connectionCounts() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pending", admission == null ? 0 : admission.pending());
        m.put("requesters", slots.requesters());
        m.put("approvers", slots.approvers());
        m.put("evicted", admission == null ? 0 : admission.evicted());
        m.put("timed_out", admission == null ? 0 : admission.timedOut());
        return m;
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    /** SO_PEERCRED: only the daemon's own user may talk to it. */
    boolean peerAllowed(SocketChannel ch) {
        String peer;
        try {
            UnixDomainPrincipal p = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
            peer = p.user().getName();
        } catch (IOException | UnsupportedOperationException e) {
            peer = null;
        }
        if (owner.equals(peer)) {
            return true;
        }
        LOG.warn("refused a connection from user {}", peer);
        try (ch) {
            OutputStream out = Channels.newOutputStream(ch);
            byte[] json = Message.of("error").with("code", ErrorCode.NOT_APPROVER.wire())
                    .with("message", "this brokerctl daemon belongs to user " + owner
                            + "; connections from user " + peer + " are refused").toJson();
            Frame.write(out, Frame.JSON, json, 0, json.length);
            out.flush();
        } catch (IOException ignored) {
            // refusing anyway
        }
        return false;
    }

    // ------------------------------------------------------------------ runs

    /** Runs {@code task} on a pooled daemon thread named {@code name}. */
    void execute(String name, Runnable task) {
        workers.execute(name, task);
    }

    Run newRun(RunRequest request, Run.Requester requester) {
        runRequested = true;   // the warm-up stops at its next step
        Run run = new Run(nextId(), request, requester, now());
        LOG.info("run {} requested by pid {} ({}, claims to be {}): {}; reason: {}", run.id(), requester.peer().pid(),
                Log.safe(requester.peer().exe()), Log.safe(requester.clientName()), request,
                request.reason().isEmpty() ? "(none)" : "given");
        return run;
    }

    /** What the request names, resolved now: the executable, the canonical cwd, the child's environment. */
    Run.Resolved resolve(RunRequest q) throws BrokerException {
        java.nio.file.Path cwd;
        try {
            cwd = java.nio.file.Path.of(q.cwd()).toRealPath();
        } catch (IOException | java.nio.file.InvalidPathException e) {
            throw new BrokerException(ErrorCode.INVALID, "the working directory " + Log.safe(q.cwd())
                    + " does not exist");
        }
        if (!java.nio.file.Files.isDirectory(cwd)) {
            throw new BrokerException(ErrorCode.INVALID, "the working directory " + cwd + " is not a directory");
        }
        ChildEnvironment env = ChildEnvironment.of(config.environment(), q.baseEnvironment(), cwd);
        Executable exe = Executable.resolve(q.argv().get(0), env.variables().get("PATH"), cwd);
        return new Run.Resolved(exe, cwd, env);
    }

    /**
     * Decides, resolves, runs; every outcome ends in a message to the requester: its connection,
     * or the run's {@link DetachedRuns} entry.
     */
    void execute(Run run, Runner.Sink c) {
        active.put(run.id(), run);
        if (stopped.get()) {
            run.stopByDaemon();   // taken after shutdown's sweep of the active runs: it must not start
        }
        vault.beginUse();
        boolean allowed = false;
        String why = "";
        try {
            RunRequest q = run.request();
            Run.Resolved resolved;
            try {
                resolved = resolve(q);
            } catch (BrokerException e) {
                auditNotResolved(run, e);
                throw e;
            }
            run.identify(resolved, RequestIdentity.hash(q, resolved), RequestIdentity.newCode());
            AuditRecord requested = new AuditRecord(AuditEvent.RUN_REQUESTED, q.environment(), AuditDetails.of(
                    AuditDetails.RUN_ID, run.id(), AuditDetails.ARGV, q.argv(),
                    AuditDetails.EXECUTABLE, resolved.executable().path().toString(),
                    AuditDetails.CWD, resolved.cwd().toString(),
                    AuditDetails.VARIABLES, q.variables() == null ? java.util.List.of("*") : q.variables(),
                    AuditDetails.ENV_CHANGES, resolved.environment().changes().stream()
                            .map(ChildEnvironment.Change::name).toList(),
                    AuditDetails.MASKING, q.masking() ? "on" : "off", AuditDetails.STDIN, q.forwardStdin() ? "attached" : "none",
                    AuditDetails.REASON, q.reason(), AuditDetails.CLIENT, run.requester().clientName(),
                    AuditDetails.PID, run.requester().peer().pid(), AuditDetails.PEER_EXE, run.requester().peer().exe(),
                    AuditDetails.REQUEST_HASH, run.requestHash()));
            // A missing variable fails in valuesInArgv (before a human is asked) or when the values
            // are resolved to start the run: no separate check, which would decrypt them once more.
            Map<String, String> policies = new LinkedHashMap<>();
            try {
                run.hostFileSystem(vault.with(s -> {
                    boolean host = true;   // the strictest profile of the environments it touches
                    for (String env : q.environments()) {
                        dev.brokerctl.vault.EnvironmentInfo info = s.environment(env);
                        policies.put(env, info.policy().id());
                        host &= info.hostRuns();
                    }
                    return host;
                }));
            } catch (VaultException | BrokerException e) {
                vault.audit(requested);   // a request for an unknown environment is recorded too
                throw e;
            }
            // Output that comes back raw is never decided by policy alone.
            // All of an environment's variables for a detached (agent's) run is never decided by policy alone.
            boolean auto = q.masking() && !(run.detached() && q.variables() == null)
                    && policies.values().stream().allMatch(Policy.AUTO.id()::equals);
            Grants.Grant grant = auto ? null : grants.match(run.requestHash());
            Decision d;
            if (auto || grant != null) {
                // decided at once: the request and its decision go to disk together
                d = auto ? new Decision(Decision.Kind.AUTO, "", "policy")
                        : new Decision(Decision.Kind.GRANT, "", "grant " + grant.id());
                d = cancelledMeanwhile(run, d);
                vault.audit(requested, decided(run, d));
            } else {
                Decision refused = prompts.refusal(run, now());
                if (refused != null) {
                    vault.audit(requested, decided(run, refused));
                    d = refused;
                } else {
                    Decision human = null;
                    try {   // the refusal counted the request as asked: decided() gives its slot back
                        vault.audit(requested);   // on disk before a human is asked
                        run.valueInArgv(vault.with(s -> valuesInArgv(s, q)));
                        java.util.List<String> allNames = q.variables() != null ? java.util.List.of()
                                : vault.with(s -> s.listVariables(q.environment()).items().stream()
                                        .map(dev.brokerctl.vault.VariableInfo::name).toList());
                        run.describe(RunDescription.of(run, policies, allNames, approvals.timeout(), runner.launcher()));
                        java.util.concurrent.CompletableFuture<Decision> decision = approvals.submit(run);
                        broadcast(Message.of("pending_added").with("run", run.description()));
                        decision.whenComplete((dd, e) -> broadcast(Message.of("pending_removed")
                                .with("run_id", run.id()).with("outcome", dd == null ? "failed" : dd.kind().name().toLowerCase(java.util.Locale.ROOT))
                                .with("decided_by", dd == null ? "" : dd.decidedBy())));
                        c.message(Message.of("pending").with("run_id", run.id())
                                .with("timeout_ms", approvals.timeout().toMillis()));
                        human = run.awaitDecision(decision);
                    } finally {
                        prompts.decided(run, human, now());
                    }
                    d = cancelledMeanwhile(run, human);
                    vault.audit(decided(run, d));
                }
            }
            if (!d.allowsRun()) {
                LOG.info("run {} not started: {} by {}", run.id(), d.kind(), Log.safe(d.decidedBy()));
                c.message(Message.of("denied").with("run_id", run.id())
                        .with("reason", d.kind().name().toLowerCase(java.util.Locale.ROOT))
                        .with("message", d.message()));
                return;
            }
            allowed = true;
            // a human narrowed a request for all variables: only those names are resolved and injected
            RunRequest injected = d.narrowedTo() == null ? q : q.withVariables(d.narrowedTo());
            run.narrowTo(d.narrowedTo());
            Map<String, SecretValue> values = vault.with(s -> resolve(s, injected));
            java.util.List<String> names = new java.util.ArrayList<>(values.keySet());
            // The start and the exit record what already happened: appended in the background,
            // in order, so the command and its requester do not wait for the disk.
            runner.run(run, values, c, new Runner.Events() {
                @Override
                public void started(long pid) {
                    vault.auditLater(new AuditRecord(AuditEvent.RUN_STARTED, q.environment(), AuditDetails.of(
                            AuditDetails.RUN_ID, run.id(), AuditDetails.PID, pid, AuditDetails.VARIABLES, names)));
                }

                @Override
                public void exited(Runner.Outcome o) {
                    if (run.claimExitEntry()) {
                        vault.auditLater(exitEntry(run, AuditDetails.EXIT_CODE, o.exitCode(),
                                AuditDetails.DURATION_MS, o.durationMs(), AuditDetails.MASKED_COUNT, o.maskedCount(),
                                AuditDetails.REASON, o.timedOut() ? "timed out" : run.daemonStopped() ? "daemon stopped"
                                        : o.cancelled() ? "cancelled" : "exited"));
                    }
                }
            });
        } catch (BrokerException e) {
            why = Log.cause(e);
            LOG.info("run {} not run: {}", run.id(), why);
            trySendError(c, e.code(), e.getMessage());
        } catch (VaultIntegrityException e) {
            why = Log.cause(e);
            LOG.warn("run {} not run: {}", run.id(), why);
            trySendError(c, ErrorCode.VAULT_DAMAGED, e.getMessage());
        } catch (dev.brokerctl.vault.NotFoundException e) {
            why = Log.cause(e);
            LOG.info("run {} not run: {}", run.id(), why);
            trySendError(c, ErrorCode.NOT_FOUND, e.getMessage());
        } catch (VaultException e) {
            // the disk is full, the vault is busy: said in the log too, not only to the requester
            why = Log.cause(e);
            LOG.warn("run {} failed: {}", run.id(), why);
            trySendError(c, ErrorCode.INTERNAL, e.getMessage());
        } catch (IOException e) {
            why = "the requester went away (" + Log.cause(e) + ")";
            LOG.info("run {}: {}", run.id(), why);
            run.cancel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            why = "interrupted";
            run.cancel();
        } catch (ExecutionException e) {
            why = "approval failed: " + e.getCause().getClass().getSimpleName();
            LOG.warn("run {} not run: {}", run.id(), why);
            trySendError(c, ErrorCode.INTERNAL, why);
        } catch (RuntimeException e) {
            // a bug, never a requester's fault: its message may quote the request, so only the type is logged
            why = "the daemon failed (" + e.getClass().getName() + ")";
            LOG.error("run {} failed: {}", run.id(), e.getClass().getName());
            run.cancel();
            trySendError(c, ErrorCode.INTERNAL, "the daemon failed on this request (" + e.getClass().getSimpleName()
                    + "); nothing ran. See brokerd.log");
        } finally {
            // An approved run whose command did not start, or ended without the runner seeing
            // its exit (the requester went away mid-run, the daemon stopped), still gets its exit entry.
            if (allowed && run.claimExitEntry()) {
                vault.auditLater(exitEntry(run, AuditDetails.REASON,
                        run.state() == Run.State.PENDING ? "not started: " + why
                                : run.daemonStopped() ? "daemon stopped" : "killed: " + why));
            }
            vault.endUse();
            active.remove(run.id());
            synchronized (active) {
                active.notifyAll();
            }
        }
    }

    /** A {@code run_exited} entry for {@code run} with these details after its run id. */
    private static AuditRecord exitEntry(Run run, Object... details) {
        Object[] all = new Object[details.length + 2];
        all[0] = AuditDetails.RUN_ID;
        all[1] = run.id();
        System.arraycopy(details, 0, all, 2, details.length);
        return new AuditRecord(AuditEvent.RUN_EXITED, run.request().environment(), AuditDetails.of(all));
    }

    /**
     * A request refused before anything was resolved (its command not found or not executable,
     * its directory missing) is recorded as asked and as not started, when the vault is unlocked:
     * the requester's answer does not depend on it, so a failed append is only logged.
     */
    private void auditNotResolved(Run run, BrokerException e) {
        RunRequest q = run.request();
        try {
            vault.audit(new AuditRecord(AuditEvent.RUN_REQUESTED, q.environment(), AuditDetails.of(
                    AuditDetails.RUN_ID, run.id(), AuditDetails.ARGV, q.argv(), AuditDetails.CWD, q.cwd(),
                    AuditDetails.VARIABLES, q.variables() == null ? java.util.List.of("*") : q.variables(),
                    AuditDetails.REASON, q.reason(), AuditDetails.CLIENT, run.requester().clientName(),
                    AuditDetails.PID, run.requester().peer().pid(), AuditDetails.PEER_EXE, run.requester().peer().exe())),
                    exitEntry(run, AuditDetails.REASON, "not started: " + e.getMessage()));
            run.claimExitEntry();
        } catch (VaultException | BrokerException | RuntimeException failed) {
            LOG.info("run {}: the refused request is not in the audit log: {}", run.id(), Log.cause(failed));
        }
    }

    private static Decision cancelledMeanwhile(Run run, Decision d) {
        return run.cancelled() && d.allowsRun()
                ? new Decision(Decision.Kind.CANCELLED, "cancelled by the requester", "requester") : d;
    }

    /** The decider as the daemon verified it (pid, exe, tty); the console's own label is marked claimed. */
    private static AuditRecord decided(Run run, Decision d) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put(AuditDetails.RUN_ID, run.id());
        details.put(AuditDetails.DECISION, d.kind().name().toLowerCase(java.util.Locale.ROOT));
        details.put(AuditDetails.DECIDED_BY, d.decider() == null ? d.decidedBy()
                : "pid " + d.decider().pid() + " " + d.decider().exe()
                        + (d.decider().tty().isEmpty() ? "" : " tty " + d.decider().tty())
                        + " (claims: " + d.decidedBy() + ")");
        if (d.narrowedTo() != null) {
            details.put(AuditDetails.VARIABLES, d.narrowedTo());   // what runs: the human's narrowing
        }
        return new AuditRecord(AuditEvent.RUN_DECIDED, run.request().environment(), AuditDetails.copyOf(details));
    }

    /** Names of injected variables whose value appears verbatim in an argv element. */
    private static java.util.List<String> valuesInArgv(dev.brokerctl.vault.VaultSession s, RunRequest q)
            throws VaultException {
        java.util.List<String> hits = new java.util.ArrayList<>();
        Map<String, SecretValue> values = resolve(s, q);
        try {
            for (Map.Entry<String, SecretValue> e : values.entrySet()) {
                byte[] v = e.getValue().revealBytes();
                if (v.length < 4) {
                    continue;
                }
                for (String arg : q.argv()) {
                    if (contains(arg.getBytes(StandardCharsets.UTF_8), v)) {
                        hits.add(e.getKey());
                        break;
                    }
                }
            }
        } finally {
            values.values().forEach(SecretValue::destroy);
        }
        return hits;
    }

    private static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** Locks an idle vault; grants go with the keys. Retries audit entries that wait for the disk. */
    boolean lockIfIdle() {
        vault.retryWaiting();
        if (vault.lockIfIdle()) {
            grants.revokeAll();
            return true;
        }
        return false;
    }

    void lock(String why) {
        vault.lock(why);
        grants.revokeAll();
    }

    /** Pushes an event to every watching approver console. */
    void broadcast(Message event) {
        for (Connection w : watchers) {
            try {
                w.send(event);
            } catch (IOException e) {
                watchers.remove(w);
            }
        }
    }

    void watch(Connection c) {
        watchers.add(c);
    }

    Grants grants() {
        return grants;
    }

    private static Map<String, SecretValue> resolve(dev.brokerctl.vault.VaultSession s, RunRequest q)
            throws VaultException {
        Map<String, SecretValue> values = new LinkedHashMap<>();
        try {
            ResolvedValues main = s.resolve(q.environment(), q.variables());
            values.putAll(main.asMap());
            for (RunRequest.Ref ref : q.refs()) {
                ResolvedValues one = s.resolve(ref.environment(), java.util.List.of(ref.variable()));
                SecretValue previous = values.put(ref.name(), one.get(ref.variable()));
                if (previous != null) {
                    previous.destroy();
                }
            }
            return values;
        } catch (VaultException | RuntimeException e) {
            values.values().forEach(SecretValue::destroy);
            throw e;
        }
    }

    private static void trySendError(Runner.Sink c, ErrorCode code, String message) {
        try {
            c.message(Message.of("error").with("code", code.wire()).with("message", message));
        } catch (IOException ignored) {
            // requester gone
        }
    }

    VaultHolder vault() {
        return vault;
    }

    Approvals approvals() {
        return approvals;
    }

    VariableRequests variableRequests() {
        return variableRequests;
    }

    Prompts prompts() {
        return prompts;
    }

    /**
     * Run, variable-request and grant ids come from one counter, so a number names one thing; it
     * starts from the clock (milliseconds since {@link #ID_EPOCH}) and only goes up, so ids stay
     * unique across daemon restarts (docs/architecture.md, "Run ids").
     */
    long nextId() {
        long now = config.clock().millis() - ID_EPOCH;
        return runIds.updateAndGet(last -> Math.max(last + 1, now));
    }

    /** 2026-01-01T00:00:00Z: run ids count milliseconds from here, which keeps them short. */
    static final long ID_EPOCH = 1_767_225_600_000L;

    /** The warm-up's result once it ended, waiting up to {@code timeoutMs}; null if it did not end or is off. */
    WarmUp.Result awaitWarmUp(long timeoutMs) throws InterruptedException {
        return warmUp == null ? null : warmUp.await(timeoutMs);
    }

    DetachedRuns detachedRuns() {
        return detachedRuns;
    }

    java.time.Instant now() {
        return java.time.Instant.ofEpochMilli(config.clock().millis());
    }

    Message status() {
        return Message.of("status").with("pid", ProcessHandle.current().pid())
                .with("locked", vault.isLocked()).with("vault_refused", vault.refusal()).with("socket", config.socket().toString())
                .with("uptime_ms", config.clock().millis() - startedAt)
                .with("pending", approvals.size() + variableRequests.size()).with("running", active.size())
                .with("runs_contained", runner.launcher().contained()).with("containment", runner.launcher().description())
                .with("connections", connectionCounts());
    }

    /** A connection's task has ended (its thread goes back to the pool). */
    void ended() {
        synchronized (servingLock) {
            serving--;
            servingLock.notifyAll();
        }
    }

    /** How many connection tasks are still running. */
    int serving() {
        synchronized (servingLock) {
            return serving;
        }
    }

    /** Waits up to {@code millis} for every connection task to end; false if some did not. */
    private boolean awaitConnectionsEnded(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        synchronized (servingLock) {
            while (serving > 0) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    return false;
                }
                servingLock.wait(left);
            }
        }
        return true;
    }

    /**
     * An approver connection inside this JVM, for the foreground daemon's own console: two pipes,
     * no socket path to race for, no handshake (this process unlocked the vault).
     */
    public dev.brokerctl.protocol.BrokerClient inProcessConsole(Map<String, Object> client)
            throws IOException, BrokerException {
        java.nio.channels.Pipe toDaemon = java.nio.channels.Pipe.open();
        java.nio.channels.Pipe toConsole = java.nio.channels.Pipe.open();
        java.io.Closeable both = () -> {
            toDaemon.source().close();
            toDaemon.sink().close();
            toConsole.source().close();
            toConsole.sink().close();
        };
        Connection c = new Connection(this, toDaemon.source(), toConsole.sink(), both, Peer.self(),
                connectionIds.incrementAndGet(), true);
        connections.add(c);
        synchronized (servingLock) {
            serving++;
        }
        workers.execute("connection-" + connectionIds.get() + "-console", c);
        return dev.brokerctl.protocol.BrokerClient.inProcess(toConsole.source(), toDaemon.sink(), both, client);
    }

    void forget(Connection c) {
        connections.remove(c);
        watchers.remove(c);
        slots.release(c);
    }

    // ------------------------------------------------------------------ stopping

    /** Stops from a connection thread without waiting on itself. */
    void stopAsync() {
        Thread t = new Thread(this::shutdown, "shutdown");
        t.start();
    }

    /** Idempotent: closes the listener, kills runs, locks the vault, removes the socket file. */
    public void shutdown() {
        if (stopped.getAndSet(true)) {
            return;
        }
        LOG.info("daemon stopping");
        Thread w = warmUpThread;
        if (w != null) {
            try {
                w.join(10_000);   // it stops at its next step: no warm-up process outlives the daemon
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (admission != null) {
            admission.close();
        }
        try {
            if (server != null) {
                server.close();
            }
        } catch (IOException ignored) {
            // closing
        }
        // The socket file goes first: a client that sees its connection close (brokerctl stop)
        // then also sees the socket gone.
        try {
            Files.deleteIfExists(config.socket());
        } catch (IOException e) {
            LOG.warn("could not remove {}: {}", config.socket(), Log.cause(e));
        }
        detachedRuns.stopping();
        approvals.cancelAll("the daemon stopped");
        variableRequests.cancelAll("the daemon stopped");
        active.values().forEach(Run::stopByDaemon);
        awaitRunsReported();
        if (timers != null) {
            timers.shutdownNow();
        }
        // A run killed but still ending after the wait: its exit is recorded now, before the lock.
        for (Run r : active.values()) {
            if (r.state() == Run.State.RUNNING && r.claimExitEntry()) {
                vault.auditLater(exitEntry(r, AuditDetails.REASON, "daemon stopped (still ending when the vault was"
                        + " locked)"));
            }
        }
        lock("daemon stopping");
        connections.forEach(Connection::close);
        try {
            if (!awaitConnectionsEnded(5_000)) {
                LOG.warn("{} connection(s) still ending after 5 s", serving());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        runner.launcher().close();
        // The .lock file stays: deleting it would let a starting daemon lock an unlinked inode.
        releaseLock();
        if (acceptor != null && acceptor != Thread.currentThread()) {
            try {
                acceptor.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        vault.reportUnwritten();
        LOG.info("daemon stopped");
        terminated.countDown();
    }

    /**
     * Lets the runs that shutdown killed tell their requesters why (attached: on their
     * connection; detached: their entry, and the connections waiting on it) before the
     * connections close. Bounded: a run that does not end in time is settled as stopped anyway.
     */
    private void awaitRunsReported() {
        long deadline = System.nanoTime() + 3_000_000_000L;
        try {
            synchronized (active) {
                while (!active.isEmpty()) {
                    long left = (deadline - System.nanoTime()) / 1_000_000L;
                    if (left <= 0) {
                        LOG.warn("{} run(s) still ending after 3 s", active.size());
                        break;
                    }
                    active.wait(left);
                }
            }
            detachedRuns.settleAll(Runner.DAEMON_STOPPED_MESSAGE);
            detachedRuns.awaitNoWaiters(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Blocks until {@link #shutdown()} completed. */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    @Override
    public void close() {
        shutdown();
    }
}

package dev.brokerctl.daemon;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ChannelStreams;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.protocol.Sealed;
import dev.brokerctl.vault.EnvironmentInfo;
import dev.brokerctl.vault.Listing;
import dev.brokerctl.vault.VariableInfo;
import dev.brokerctl.vault.VaultException;
import dev.brokerctl.vault.VaultIntegrityException;
import dev.brokerctl.vault.WrongPassphraseException;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection, served on its own thread. Every same-uid peer is a requester; a
 * connection becomes an approver only through the {@link Authentication} handshake (proving a key
 * derived from the vault key this daemon holds), after which every frame both ways is
 * {@link Sealed}; or by being the foreground daemon's own in-process console. No passphrase is
 * taken over the socket. One attached run at a time per connection: its stdin frames, signals
 * and cancel arrive here, and its output goes back here.
 */
final class Connection implements Runnable, Runner.Sink {

    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);
    /** Handshake nonces; one generator for all connections (SecureRandom is thread-safe). */
    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    private final Daemon daemon;
    private final java.io.Closeable channel;
    private final long id;
    private final Authentication auth;
    /** Set once the handshake finished: every frame in must open under it. */
    private volatile Sealed receiveSeal;
    /** Set once the handshake finished: every frame out is sealed under it (guarded by {@code out}). */
    private Sealed sendSeal;
    /** A SECRET frame after a refused 'unlock'/'authenticate' of an old raw client: zeroed, no second error. */
    private boolean discardSecret;
    private final DataInputStream in;
    private final OutputStream out;
    private volatile boolean approver;
    private final Peer peer;
    private Run.Requester requester;
    private volatile Run current;
    private volatile VariableRequests.Request currentRequest;
    /** Set by a refused hello: nothing after it is read (clients send their first request with it). */
    private boolean refused;
    /** The socket, for {@link #expire}; null in-process. */
    private final SocketChannel socket;
    /** What {@link Admission} read before this connection got its thread: the hello (or null) and the first request. */
    private Message prehello;
    private Frame first;
    /** System.nanoTime() when this connection got its thread. */
    final long admittedNanos = System.nanoTime();
    /** System.nanoTime() when the first byte of the frame being read arrived; 0 between frames. */
    private volatile long frameStartedNanos;
    /** Why the daemon ended this connection ({@link #expire}); sent on its way out. */
    private volatile ErrorCode expiredCode;
    private volatile String expiredMessage;
    private volatile long expiredNanos;

    /** A socket connection after {@link Admission}: its hello (null if it sent none) was answered already. */
    Connection(Daemon daemon, SocketChannel channel, long id, Message hello, Frame first) {
        this(daemon, channel, channel, channel, Peer.of(channel), id, false);
        this.prehello = hello;
        this.first = first;
    }

    /**
     * {@code inProcess}: the foreground daemon's console, over pipes inside this JVM; it is an
     * approver from the start (it is the process that unlocked the vault).
     */
    Connection(Daemon daemon, java.nio.channels.ReadableByteChannel from, java.nio.channels.WritableByteChannel to,
            java.io.Closeable channel, Peer peer, long id, boolean inProcess) {
        this.daemon = daemon;
        this.channel = channel;
        this.socket = channel instanceof SocketChannel sc ? sc : null;
        this.id = id;
        this.peer = peer;
        this.approver = inProcess;
        this.auth = new Authentication(daemon.vault(), RANDOM);
        this.requester = new Run.Requester(peer, "unknown", "", -1);
        this.in = new DataInputStream(new BufferedInputStream(ChannelStreams.in(from), 65536));
        this.out = new BufferedOutputStream(ChannelStreams.out(to), 65536);
    }

    /**
     * The next frame, opened when the connection is sealed. Waiting for a frame takes as long as
     * it takes (a requester may sit idle); once its first byte arrived the rest has the
     * daemon's frame time limit ({@link #checkDeadlines}).
     */
    private Frame readFrame() throws IOException {
        int b = in.read();
        if (b < 0) {
            return null;
        }
        Frame f;
        frameStartedNanos = System.nanoTime();
        try {
            f = Frame.readRest(b, in);
        } finally {
            frameStartedNanos = 0;
        }
        Sealed seal = receiveSeal;
        return f == null || seal == null ? f : seal.open(f);
    }

    @Override
    public void run() {
        try {
            if (prehello != null) {
                requester = requesterOf(peer, prehello);
                prehello = null;
            }
            Frame f = first;
            first = null;
            if (f != null) {
                dispatch(f);
            }
            while (!refused && expiredCode == null && (f = readFrame()) != null) {
                dispatch(f);
            }
        } catch (Sealed.TamperedException e) {
            Log.perConnection(LOG, "connection {} (pid {}): {}; something rewrites this connection, closing it", id, peer.pid(),
                    e.getMessage());
            trySendError(ErrorCode.NOT_AUTHENTIC, "a sealed frame from this client did not open (" + e.getMessage()
                    + "); closing the connection");
        } catch (Frame.MalformedFrameException e) {
            if (expiredCode == null) {
                Log.perConnection(LOG, "connection {}: {}; closing it", id, Log.cause(e));
                trySendError(e.getMessage().contains("outside 1..") ? ErrorCode.FRAME_TOO_LARGE : ErrorCode.BAD_REQUEST,
                        e.getMessage() + "; closing the connection");
            }
        } catch (IOException e) {
            // the peer went away
        } finally {
            ErrorCode why = expiredCode;
            if (why != null) {
                trySendError(why, expiredMessage);
            }
            Run r = current;
            if (r != null) {
                r.cancel();
            }
            VariableRequests.Request q = currentRequest;
            if (q != null) {
                q.answer().complete(new VariableRequests.Answer(VariableRequests.Outcome.CANCELLED, "requester left"));
            }
            close();
            daemon.ended();
        }
    }

    /**
     * Ends this connection for a limit: its reading stops (input shut down, so the thread's
     * blocked read returns), and the thread sends {@code code} and closes. A thread that cannot
     * even send is cut off by {@link #checkDeadlines} two seconds later. Once only.
     */
    void expire(ErrorCode code, String message) {
        if (expiredCode != null) {
            return;
        }
        expiredMessage = message;
        expiredNanos = System.nanoTime();
        expiredCode = code;
        try {
            if (socket != null) {
                socket.shutdownInput();
            } else {
                close();
            }
        } catch (IOException e) {
            close();
        }
    }

    /** Called every second: a frame past its time limit, an unfinished handshake past its own. */
    void checkDeadlines(long now, DaemonConfig.Limits limits, Admission.Slots slots) {
        if (expiredCode != null) {
            if (now - expiredNanos > 2_000_000_000L) {
                close();
            }
            return;
        }
        long started = frameStartedNanos;
        if (started != 0 && now - started > limits.frameTimeout().toNanos()) {
            Log.perConnection(LOG, "connection {} (pid {}): a frame took longer than {}; closing it", id, peer.pid(),
                    dev.brokerctl.protocol.Durations.format(limits.frameTimeout()));
            expire(ErrorCode.TOO_SLOW, "a frame did not arrive whole within "
                    + dev.brokerctl.protocol.Durations.format(limits.frameTimeout()) + " of its first byte; the daemon"
                    + " closed this connection. Send each frame at once: connect again");
        } else if (now - admittedNanos > limits.handshakeTimeout().toNanos() && slots.isUnprovenApprover(this)) {
            Log.perConnection(LOG, "connection {} (pid {}): no finished handshake within {}; closing it", id, peer.pid(),
                    dev.brokerctl.protocol.Durations.format(limits.handshakeTimeout()));
            expire(ErrorCode.TOO_SLOW, "the handshake was not finished within "
                    + dev.brokerctl.protocol.Durations.format(limits.handshakeTimeout()) + "; the daemon closed this"
                    + " connection: connect again (brokerctl approve)");
        }
    }

    private void dispatch(Frame f) throws IOException {
                switch (f.kind()) {
                    case Frame.JSON -> handle(f.payload());
                    case Frame.STDIN -> {
                        Run r = current;
                        StdinPipe stdin = r == null ? null : r.stdin();
                        if (stdin != null && !stdin.offer(f.payload())) {
                            // the reason first: the exit the cancel causes must not overtake it
                            sendError(ErrorCode.BAD_REQUEST, "stdin was sent past the flow-control window of "
                                    + Frame.STDIN_WINDOW + " bytes; the run was stopped");
                            r.cancel();
                        }
                    }
                    case Frame.STDIN_EOF -> {
                        Run r = current;
                        if (r != null && r.stdin() != null) {
                            r.stdin().end();
                        }
                    }
                    case Frame.SECRET -> {
                        Arrays.fill(f.payload(), (byte) 0);
                        if (!discardSecret) {
                            sendError(ErrorCode.BAD_REQUEST, "a secret frame must follow 'provide_variable' or 'unlock_key'");
                        }
                        discardSecret = false;
                    }
                    default -> sendError(ErrorCode.BAD_REQUEST, "unexpected " + f + " from a client");
                }
    }

    private void handle(byte[] json) throws IOException {
        Message m;
        try {
            m = Message.parse(json);
        } catch (BrokerException e) {
            sendError(e.code(), e.getMessage());
            return;
        }
        try {
            switch (m.type()) {
                case "hello" -> hello(m);
                case "status" -> send(Install.addTo(daemon.status()));
                case "unlock", "authenticate" -> {
                    discardSecret = true;
                    throw new BrokerException(ErrorCode.BAD_REQUEST, "this daemon takes no passphrase over its socket"
                            + " (protocol " + BrokerClient.PROTOCOL_VERSION + "): brokerctl approve and brokerctl unlock"
                            + " prove the vault key with a handshake instead (docs/architecture.md, 'Handshake');"
                            + " upgrade the client");
                }
                case "handshake" -> send(auth.challenge(m));
                case "handshake_finish" -> finishHandshake(m);
                case "unlock_key" -> unlockKey();
                case "lock" -> {
                    daemon.lock("requested");
                    send(Message.of("ok"));
                }
                case "stop" -> {
                    send(Message.of("ok"));
                    daemon.stopAsync();
                }
                case "list_environments" -> listEnvironments();
                case "list_variables" -> listVariables(m.string("environment"));
                case "run" -> startRun(m);
                case "run_get" -> send(daemon.detachedRuns().get(m));
                case "run_stop" -> send(daemon.detachedRuns().stop(m));
                case "run_list" -> send(daemon.detachedRuns().list(m));
                case "signal" -> signal(m);
                case "cancel" -> {
                    Run r = current;
                    if (r != null) {
                        r.cancel();
                    }
                }
                case "pending_list" -> pendingList();
                case "decide" -> decide(m);
                case "watch" -> {
                    requireApprover();
                    daemon.watch(this);
                    send(Message.of("ok"));
                }
                case "grants_list" -> grantsList();
                case "grants_revoke" -> grantsRevoke(m);
                case "request_variable" -> requestVariable(m);
                case "provide_variable" -> provideVariable(m);
                case "decline_variable" -> declineVariable(m);
                default -> sendError(ErrorCode.BAD_REQUEST, "unknown message type '" + m.type() + "'");
            }
        } catch (BrokerException e) {
            sendError(e.code(), e.getMessage());
        } catch (WrongPassphraseException e) {
            LOG.warn("connection {} (pid {}): wrong passphrase", id, peer.pid());
            sendError(ErrorCode.WRONG_PASSPHRASE, e.getMessage());
        } catch (VaultIntegrityException e) {
            sendError(ErrorCode.VAULT_DAMAGED, e.getMessage());
        } catch (dev.brokerctl.vault.NotFoundException e) {
            sendError(ErrorCode.NOT_FOUND, e.getMessage());
        } catch (dev.brokerctl.vault.ConflictException e) {
            sendError(ErrorCode.CONFLICT, e.getMessage());
        } catch (VaultException e) {
            sendError(ErrorCode.INTERNAL, e.getMessage());
        } catch (IllegalArgumentException e) {
            sendError(ErrorCode.INVALID, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            sendError(ErrorCode.DAEMON_STOPPED, "the daemon is stopping");
        }
    }

    /** The answer to a hello; {@code refused}: nothing after it is read. */
    record HelloReply(Message message, boolean refused) {
    }

    /** The answer to {@code m}, a hello; {@link Admission} sends it before the connection has a thread. */
    static HelloReply helloReply(Daemon daemon, Message m) {
        long protocol;
        try {
            protocol = m.number("protocol", -1);
            m.number("pid", -1);
        } catch (BrokerException e) {
            return new HelloReply(Message.of("error").with("code", e.code().wire()).with("message", e.getMessage()),
                    false);
        }
        if (protocol != BrokerClient.PROTOCOL_VERSION) {
            // The request sent along with this hello was written for another protocol: closing
            // the connection makes sure it is never carried out.
            return new HelloReply(Message.of("error").with("code", ErrorCode.UNSUPPORTED_PROTOCOL.wire())
                    .with("message", "this daemon speaks protocol " + BrokerClient.PROTOCOL_VERSION + ", the client "
                            + protocol + "; restart the daemon after upgrading brokerctl"), true);
        }
        return new HelloReply(Message.of("hello").with("protocol", BrokerClient.PROTOCOL_VERSION)
                .with("pid", ProcessHandle.current().pid()).with("locked", daemon.vault().isLocked()), false);
    }

    private static Run.Requester requesterOf(Peer peer, Message m) {
        Map<String, Object> client = m.asMap().get("client") instanceof Map<?, ?> c
                ? castMap(c) : Map.of();
        long claimedPid;
        try {
            claimedPid = m.number("pid", -1);
        } catch (BrokerException e) {
            claimedPid = -1;   // answered with the error already
        }
        return new Run.Requester(peer, str(client.get("name")), str(client.get("version")), claimedPid);
    }

    /** A hello on a connection that has its thread (the in-process console's, or a second one). */
    private void hello(Message m) throws IOException {
        HelloReply reply = helloReply(daemon, m);
        if (reply.refused()) {
            refused = true;
        } else {
            requester = requesterOf(peer, m);
        }
        send(reply.message());
    }

    private void finishHandshake(Message m) throws IOException {
        dev.brokerctl.protocol.Handshake.SessionKeys keys;
        try {
            keys = auth.finish(m);
        } catch (BrokerException e) {
            Log.perConnection(LOG, "connection {} (pid {} {}): handshake refused: {}", id, peer.pid(), Log.safe(peer.exe()),
                    Log.cause(e));
            refused = true;
            sendError(e.code(), e.getMessage());
            return;
        }
        boolean asApprover = auth.proven() == dev.brokerctl.protocol.Handshake.Role.APPROVER;
        receiveSeal = new Sealed(keys.clientToDaemon(), Sealed.CLIENT_TO_DAEMON);
        synchronized (out) {
            sendSeal = new Sealed(keys.daemonToClient(), Sealed.DAEMON_TO_CLIENT);
            keys.zero();
            approver = asApprover;
            daemon.proven(this);
            LOG.info("connection {} (pid {} {}) proved the {} key; the connection is sealed", id, peer.pid(),
                    Log.safe(peer.exe()), asApprover ? "approver" : "unlock");
            send(Message.of("ok").with("approver", asApprover));
        }
    }

    /** The vault key from brokerctl unlock: a (sealed) SECRET frame after this message. */
    private void unlockKey() throws IOException, VaultException, BrokerException {
        Frame f = readFrame();
        if (f == null) {
            throw new IOException("closed before the key");
        }
        if (f.kind() != Frame.SECRET) {
            Arrays.fill(f.payload(), (byte) 0);
            throw new BrokerException(ErrorCode.BAD_REQUEST, "expected the sealed key in a secret frame");
        }
        auth.unlock(f.payload());
        approver = true;
        send(Message.of("ok").with("approver", true));
    }

    private void listEnvironments() throws IOException, VaultException, BrokerException {
        Listing<EnvironmentInfo> l = daemon.vault().with(s -> s.listEnvironments());
        List<Object> items = new ArrayList<>();
        for (EnvironmentInfo e : l.items()) {
            items.add(Map.of("name", e.name(), "policy", e.policy().id(), "variable_count", e.variableCount()));
        }
        send(Message.of("environments").with("environments", items).with("damaged", l.damaged()));
    }

    private void listVariables(String environment) throws IOException, VaultException, BrokerException {
        Listing<VariableInfo> l = daemon.vault().with(s -> s.listVariables(environment));
        List<Object> items = new ArrayList<>();
        for (VariableInfo v : l.items()) {
            items.add(Map.of("name", v.name(), "description", v.description(),
                    "updated_at", v.updatedAt().toString()));
        }
        send(Message.of("variables").with("environment", environment).with("variables", items)
                .with("damaged", l.damaged()));
    }

    private void startRun(Message m) throws BrokerException, IOException {
        if (m.bool("detach", false)) {
            startDetached(m);
            return;
        }
        if (current != null) {
            throw new BrokerException(ErrorCode.BAD_REQUEST, "this connection already has a run");
        }
        RunRequest request = RunRequest.from(m);
        Run run = daemon.newRun(request, requester);
        current = run;
        daemon.execute("run-" + run.id(), () -> {
            try {
                daemon.execute(run, this);
            } finally {
                current = null;
            }
        });
    }

    /**
     * A run that belongs to the daemon, not to this connection ({@link DetachedRuns}): answered at
     * once with its id and handle; the connection may close, and any connection reads it by handle.
     */
    private void startDetached(Message m) throws BrokerException, IOException {
        RunRequest request = RunRequest.from(m);
        if (request.forwardStdin()) {
            throw new BrokerException(ErrorCode.INVALID, "a detached run takes no stdin; send \"stdin\": false");
        }
        if (!request.masking()) {
            // its output waits in the registry, where any requester's run_list and run_get read it
            throw new BrokerException(ErrorCode.INVALID, "a detached run's output is always masked; send"
                    + " \"masking\": true, or run it attached (brokerctl run --no-masking)");
        }
        daemon.detachedRuns().checkRoom(requester);
        Run run = daemon.newRun(request, requester);
        run.detach();
        DetachedRuns.Entry entry = daemon.detachedRuns().add(run);
        send(Message.of("detached").with("run_id", run.id()).with("handle", entry.handle));
        daemon.execute("run-" + run.id(), () -> daemon.execute(run, entry));
    }

    private void signal(Message m) throws BrokerException {
        long sig = m.number("signal", 15);
        if (sig < 1 || sig > 64) {
            throw new BrokerException(ErrorCode.INVALID, "signal must be 1..64");
        }
        Run r = current;
        if (r != null) {
            r.signal((int) sig);
        }
    }

    private void pendingList() throws BrokerException, IOException {
        requireApprover();
        List<Object> items = new ArrayList<>();
        for (Run r : daemon.approvals().list()) {
            items.add(r.description());
        }
        List<Object> variables = new ArrayList<>();
        for (VariableRequests.Request q : daemon.variableRequests().list()) {
            variables.add(describe(q, q.policy()));
        }
        send(Message.of("pending").with("runs", items).with("variables", variables));
    }

    /** An agent asks the human for a variable that does not exist yet; answered asynchronously. */
    private void requestVariable(Message m) throws BrokerException, IOException, VaultException {
        if (currentRequest != null || current != null) {
            throw new BrokerException(ErrorCode.BAD_REQUEST, "this connection is already waiting");
        }
        String environment = m.string("environment");
        String name = m.string("name");
        String description = m.string("description", "");
        dev.brokerctl.vault.Names.checkEnvironment(environment);
        dev.brokerctl.vault.Names.checkVariable(name);
        boolean exists = daemon.vault().with(s -> s.listVariables(environment).items().stream()
                .anyMatch(v -> v.name().equals(name)));
        if (exists) {
            throw new BrokerException(ErrorCode.CONFLICT, "variable " + name + " already exists in environment '"
                    + environment + "'; use it, or ask the human to change it with: brokerctl set "
                    + environment + " " + name);
        }
        String policy = daemon.vault().with(s -> s.environment(environment).policy().id());
        String earlier = daemon.variableRequests().earlierDecline(environment, name, description, daemon.now());
        if (earlier != null) {
            send(Message.of("variable_declined").with("request_id", -1).with("message", earlier).with("repeated", true));
            return;
        }
        String limit = daemon.prompts().admit(peer.pid(), daemon.now());
        if (limit != null) {
            throw new BrokerException(ErrorCode.TOO_MANY, limit);
        }
        VariableRequests.Request q = daemon.variableRequests().submit(daemon.nextId(), environment, name,
                description, policy, requester, daemon.now());
        // the slot is free before the requester hears the answer (and may ask again)
        java.util.concurrent.CompletableFuture<VariableRequests.Answer> answered =
                q.answer().whenComplete((a, e) -> daemon.prompts().ended(peer.pid()));
        try {
            daemon.vault().audit(AuditEvent.VARIABLE_REQUESTED, environment, AuditDetails.of(AuditDetails.VARIABLE, name,
                    AuditDetails.CLIENT, requester.clientName(), AuditDetails.PID, peer.pid(),
                    AuditDetails.PEER_EXE, peer.exe(), AuditDetails.POLICY, policy));
        } catch (VaultException | RuntimeException e) {
            // never before the human unless on record: gone again, and its slot with it
            q.answer().complete(new VariableRequests.Answer(VariableRequests.Outcome.CANCELLED, "not recorded"));
            throw e;
        }
        currentRequest = q;
        LOG.info("variable request {}: {}/{} by pid {} (claims to be {})", q.id(), environment, name,
                peer.pid(), Log.safe(requester.clientName()));
        daemon.broadcast(Message.of("pending_added").with("variable", describe(q, policy)));
        send(Message.of("pending_variable").with("request_id", q.id())
                .with("timeout_ms", daemon.variableRequests().timeout().toMillis()));
        answered.whenComplete((a, e) -> {
            currentRequest = null;
            daemon.broadcast(Message.of("pending_removed").with("request_id", q.id())
                    .with("outcome", a.outcome().name().toLowerCase(java.util.Locale.ROOT)));
            Message reply = switch (a.outcome()) {
                case PROVIDED -> Message.of("variable_provided").with("request_id", q.id());
                case DECLINED -> Message.of("variable_declined").with("request_id", q.id())
                        .with("message", a.message());
                case TIMED_OUT -> Message.of("denied").with("request_id", q.id()).with("reason", "timed_out")
                        .with("message", a.message());
                case CANCELLED -> Message.of("denied").with("request_id", q.id()).with("reason", "cancelled")
                        .with("message", a.message());
            };
            LOG.info("variable request {}: {}", q.id(), a.outcome());
            try {
                send(reply);
            } catch (IOException ignored) {
                // the requester went away
            }
        });
    }

    /** The human's value, in the SECRET frame after this message, goes straight into the vault. */
    private void provideVariable(Message m) throws BrokerException, IOException, VaultException {
        Frame secret = readFrame();
        if (secret == null) {
            throw new IOException("closed before the value");
        }
        byte[] bytes = secret.payload();
        if (secret.kind() != Frame.SECRET) {
            java.util.Arrays.fill(bytes, (byte) 0);
            throw new BrokerException(ErrorCode.BAD_REQUEST, "expected the value in a secret frame");
        }
        try (dev.brokerctl.vault.SecretValue value = dev.brokerctl.vault.SecretValue.adopt(bytes)) {
            requireApprover();
            VariableRequests.Request q = daemon.variableRequests().get(m.number("request_id", -1));
            if (q == null) {
                throw new BrokerException(ErrorCode.NOT_FOUND, "variable request " + m.number("request_id", -1)
                        + " is not pending (answered, timed out, or never existed)");
            }
            daemon.vault().with(s -> {
                s.put(q.environment(), q.name(), value, q.description(), new dev.brokerctl.vault.audit.AuditRecord(
                        AuditEvent.VARIABLE_SET, q.environment(), AuditDetails.of(AuditDetails.VARIABLE, q.name(),
                                AuditDetails.SOURCE, "request " + q.id() + " answered by pid " + peer.pid() + " "
                                        + peer.exe())));
                return null;
            });
            q.answer().complete(new VariableRequests.Answer(VariableRequests.Outcome.PROVIDED, ""));
            LOG.info("variable {}/{} set by connection {} for request {}", q.environment(), q.name(), id, q.id());
        }
        send(Message.of("ok"));
    }

    private void declineVariable(Message m) throws BrokerException, IOException {
        requireApprover();
        VariableRequests.Request q = daemon.variableRequests().get(m.number("request_id", -1));
        String message = m.string("message", "declined by the human");
        if (q == null || !q.answer().complete(new VariableRequests.Answer(VariableRequests.Outcome.DECLINED,
                message))) {
            throw new BrokerException(ErrorCode.NOT_FOUND, "variable request " + m.number("request_id", -1)
                    + " is not pending");
        }
        daemon.variableRequests().declined(q, message, daemon.now());
        send(Message.of("ok"));
    }

    /**
     * approve / grant / deny. Approving or granting needs the request's one-time code and hash, so
     * a decision applies to exactly what the human saw, once.
     */
    private void decide(Message m) throws BrokerException, IOException {
        requireApprover();
        long runId = m.number("run_id", -1);
        String decision = m.string("decision");
        String by = m.string("decided_by", "connection " + id);
        Run run = daemon.approvals().list().stream().filter(r -> r.id() == runId).findFirst().orElse(null);
        if (run == null) {
            throw new BrokerException(ErrorCode.NOT_FOUND, "run " + runId + " is not pending (already"
                    + " decided, timed out, or never existed)");
        }
        Decision d;
        switch (decision) {
            case "approve", "grant" -> {
                if (!run.requestHash().equals(m.string("request_hash", ""))) {
                    throw new BrokerException(ErrorCode.INVALID, "the decision is for another version of"
                            + " run " + runId + " (request hash differs); look at the request again");
                }
                if (!RequestIdentity.codeMatches(run.code(), m.string("code", ""))) {
                    throw new BrokerException(ErrorCode.INVALID, "wrong code for run " + runId
                            + "; type the code shown with the request");
                }
                if (decision.equals("grant")) {
                    if (m.has("variables")) {
                        throw new BrokerException(ErrorCode.INVALID, "a grant covers the request as it was"
                                + " made; narrow the variables with approve (once), not with grant");
                    }
                    java.time.Duration length = java.time.Duration.ofSeconds(
                            m.number("grant_seconds", Grants.DEFAULT.toSeconds()));
                    if (length.isNegative() || length.isZero() || length.compareTo(Grants.MAX) > 0) {
                        throw new BrokerException(ErrorCode.INVALID, "a grant lasts from 1s to 8h");
                    }
                    java.time.Duration cap = maxGrant(run.request());
                    if (cap != null && length.compareTo(cap) > 0) {
                        throw new BrokerException(ErrorCode.INVALID, "environment policy allows grants up to "
                                + dev.brokerctl.protocol.Durations.format(cap) + "; choose a shorter one");
                    }
                    Grants.Grant g = daemon.grants().add(daemon.nextId(), run.requestHash(), run.request(),
                            length, by);
                    try {
                        daemon.vault().audit(AuditEvent.GRANT_CREATED, run.request().environment(),
                                AuditDetails.of(AuditDetails.GRANT_ID, g.id(), AuditDetails.RUN_ID, run.id(),
                                        AuditDetails.ARGV, run.request().argv(), AuditDetails.CWD, run.request().cwd(),
                                        AuditDetails.EXPIRES_AT, g.expiresAt().toString(), AuditDetails.DECIDED_BY, by));
                    } catch (VaultException e) {
                        daemon.grants().revoke(g.id());
                        throw new BrokerException(ErrorCode.VAULT_DAMAGED, "the grant could not be recorded: "
                                + e.getMessage());
                    }
                    d = new Decision(Decision.Kind.GRANTED, "grant " + g.id(), by, peer);
                } else {
                    d = new Decision(Decision.Kind.APPROVED, "", by, peer, narrowing(run, m));
                }
            }
            case "deny" -> d = new Decision(Decision.Kind.DENIED, m.string("message", "denied by the human"), by, peer);
            default -> throw new BrokerException(ErrorCode.INVALID, "decision must be approve, grant or deny");
        }
        if (!daemon.approvals().decide(runId, d)) {
            throw new BrokerException(ErrorCode.NOT_FOUND, "run " + runId + " was decided by someone else first");
        }
        send(Message.of("ok"));
    }

    /**
     * The variables a human narrowed a request for all of an environment's variables to, or null
     * when the decision does not narrow. Only such a request can be narrowed, only to names the
     * environment has, and never to more than one is asked: a narrowed run is what the human chose.
     */
    private java.util.List<String> narrowing(Run run, Message m) throws BrokerException {
        java.util.List<String> names = m.strings("variables");
        if (names == null) {
            return null;
        }
        RunRequest q = run.request();
        if (q.variables() != null) {
            throw new BrokerException(ErrorCode.INVALID, "run " + run.id() + " names its variables; only a"
                    + " request for all of an environment's variables can be narrowed");
        }
        if (!q.refs().isEmpty()) {
            // the refs would still be injected beside the narrowed names: "only these" would not hold
            throw new BrokerException(ErrorCode.INVALID, "run " + run.id() + " also asks for variables of other"
                    + " environments (refs); it cannot be narrowed: deny it, or approve it as it stands");
        }
        java.util.Set<String> unique = new java.util.LinkedHashSet<>(names);
        if (unique.isEmpty()) {
            throw new BrokerException(ErrorCode.INVALID, "narrow to at least one variable, or deny the request");
        }
        java.util.List<String> known;
        try {
            known = daemon.vault().with(s -> s.listVariables(q.environment()).items().stream()
                    .map(dev.brokerctl.vault.VariableInfo::name).toList());
        } catch (VaultException e) {
            throw new BrokerException(ErrorCode.VAULT_DAMAGED, e.getMessage());
        }
        for (String n : unique) {
            if (!known.contains(n)) {
                throw new BrokerException(ErrorCode.INVALID, "environment '" + q.environment() + "' has no variable '"
                        + Log.safe(n) + "'; narrow to names it has");
            }
        }
        return java.util.List.copyOf(unique);
    }

    /** The shortest --max-grant among the environments a run touches, or null. */
    private java.time.Duration maxGrant(RunRequest q) throws BrokerException {
        try {
            return daemon.vault().with(s -> {
                java.time.Duration min = null;
                for (String env : q.environments()) {
                    java.time.Duration d = s.environment(env).maxGrant();
                    if (d != null && (min == null || d.compareTo(min) < 0)) {
                        min = d;
                    }
                }
                return min;
            });
        } catch (VaultException e) {
            throw new BrokerException(ErrorCode.INTERNAL, e.getMessage());
        }
    }

    private void grantsList() throws IOException {
        List<Object> items = new ArrayList<>();
        for (Grants.Grant g : daemon.grants().live()) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("grant_id", g.id());
            m.put("environment", g.request().environment());
            m.put("argv", g.request().argv());
            m.put("cwd", g.request().cwd());
            m.put("variables", g.request().variables());
            m.put("granted_by", g.grantedBy());
            m.put("expires_at", g.expiresAt().toString());
            items.add(m);
        }
        send(Message.of("grants").with("grants", items));
    }

    /** Revoking only takes permission away, so any same-user connection may do it. */
    private void grantsRevoke(Message m) throws BrokerException, IOException {
        int revoked;
        long grantId = m.number("grant_id", -1);
        if (m.bool("all", false)) {
            revoked = daemon.grants().revokeAll();
        } else if (daemon.grants().revoke(grantId)) {
            revoked = 1;
        } else {
            throw new BrokerException(ErrorCode.NOT_FOUND, "no live grant " + grantId + "; list them with: brokerctl grants");
        }
        if (revoked > 0 && !daemon.vault().isLocked()) {
            try {
                daemon.vault().audit(AuditEvent.GRANT_REVOKED, null, m.bool("all", false)
                        ? AuditDetails.of(AuditDetails.GRANT_ID, -1L, AuditDetails.SOURCE, "all (" + revoked + ")")
                        : AuditDetails.of(AuditDetails.GRANT_ID, grantId, AuditDetails.SOURCE,
                                "pid " + peer.pid() + " (claims to be " + requester.clientName() + ")"));
            } catch (VaultException e) {
                LOG.warn("could not record a grant revocation: {}", e.getMessage());
            }
        }
        send(Message.of("ok").with("revoked", revoked));
    }

    private void requireApprover() throws BrokerException {
        if (!approver) {
            throw new BrokerException(ErrorCode.NOT_APPROVER, "only an approver may do this; prove the"
                    + " vault key first (brokerctl approve)");
        }
    }

    /** What an approver sees of a variable request: verified and claimed facts apart, the target's policy. */
    static Map<String, Object> describe(VariableRequests.Request q, String policy) {
        Map<String, Object> v = new java.util.LinkedHashMap<>();
        v.put("request_id", q.id());
        v.put("environment", q.environment());
        v.put("name", q.name());
        v.put("description", q.description());
        v.put("policy", policy);
        v.put("verified", q.requester().peer().describe());
        v.put("claimed", Map.of("name", q.requester().clientName(), "version", q.requester().clientVersion(),
                "pid", q.requester().claimedPid()));
        v.put("requested_at", q.requestedAt().toString());
        return v;
    }

    // ------------------------------------------------------------------ sending

    void send(Message m) throws IOException {
        byte[] json = m.toJson();
        synchronized (out) {
            write(Frame.JSON, json, 0, json.length);
            out.flush();
        }
    }

    private void write(byte kind, byte[] b, int off, int len) throws IOException {
        Sealed seal = sendSeal;
        if (seal == null) {
            Frame.write(out, kind, b, off, len);
            return;
        }
        byte[] sealed = seal.seal(kind, b, off, len);
        Frame.write(out, Frame.SEALED, sealed, 0, sealed.length);
    }

    @Override
    public void message(Message m) throws IOException {
        send(m);
    }

    @Override
    public void data(byte kind, byte[] b, int off, int len) throws IOException {
        synchronized (out) {
            write(kind, b, off, len);
            out.flush();
        }
    }

    void sendError(ErrorCode code, String message) throws IOException {
        send(Message.of("error").with("code", code.wire()).with("message", message));
    }

    private void trySendError(ErrorCode code, String message) {
        try {
            sendError(code, message);
        } catch (IOException ignored) {
            // the peer is gone already
        }
    }

    void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing
        }
        daemon.forget(this);
    }

    private static String str(Object o) {
        return o == null ? "" : o.toString();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castMap(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }

    @Override
    public String toString() {
        return "Connection[" + id + (approver ? ", approver]" : ", requester]");
    }
}

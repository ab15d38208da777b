package dev.brokerctl.protocol;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A connection to the daemon. {@link #call} sends one request and returns its reply (an
 * {@code error} reply becomes a {@link BrokerException} with its code); runs use {@link #send},
 * {@link #sendData} and {@link #receive} to stream. Writes are synchronized, so a stdin pump and a
 * signal handler may share a client.
 */
public final class BrokerClient implements AutoCloseable {

    /** Wire protocol version, sent in the hello. */
    public static final int PROTOCOL_VERSION = 3;

    private final java.io.Closeable channel;
    /** Where this client connected, for messages; "in-process" for the foreground console. */
    private final String where;
    private final DataInputStream in;
    /** Set by {@link #authenticate}: every frame out is sealed under it (guarded by {@code out}). */
    private volatile Sealed sendSeal;
    /** Set by {@link #authenticate}: every frame in must open under it (guarded by {@code in}). */
    private volatile Sealed receiveSeal;
    private final OutputStream out;
    /** The daemon's hello reply; null until read (guarded by {@code in}). */
    private Message hello;

    /**
     * Writes the hello without waiting for its reply: it leaves with the first request, in one
     * write, and its reply is read before that request's, which saves a round trip. A refusal (a
     * daemon of another user, another protocol version) surfaces at the first reply.
     */
    private BrokerClient(java.nio.channels.ReadableByteChannel from, java.nio.channels.WritableByteChannel to,
            java.io.Closeable channel, String where, Map<String, Object> client) throws BrokerException {
        this.channel = channel;
        this.where = where;
        this.in = new DataInputStream(new java.io.BufferedInputStream(ChannelStreams.in(from), 65536));
        this.out = new BufferedOutputStream(ChannelStreams.out(to), 65536);
        try {
            writeFrame(Frame.JSON, Message.of("hello").with("protocol", PROTOCOL_VERSION).with("client", client)
                    .with("pid", ownPid()).toJson(), 0, -1);
        } catch (IOException e) {
            throw lost(e);
        }
    }

    /**
     * This process's id from {@code /proc/self}: {@link ProcessHandle#current()} would start the
     * JDK's process machinery (an executor, lambdas), milliseconds on {@code brokerctl run}'s
     * start-up path. Falls back to it where there is no procfs.
     */
    private static long ownPid() {
        try {
            return Long.parseLong(Files.readSymbolicLink(Path.of("/proc/self")).toString());
        } catch (IOException | RuntimeException e) {
            return ProcessHandle.current().pid();
        }
    }

    /** Reads the hello reply if it is still unread; throws the refusal it carries. */
    private void readHello() throws BrokerException {
        synchronized (in) {
            if (hello != null) {
                return;
            }
            IOException unsent = null;
            try {
                synchronized (out) {
                    out.flush();
                }
            } catch (IOException e) {
                unsent = e;   // the daemon may have answered before it closed: read that first
            }
            Frame f;
            try {
                f = Frame.read(in);
            } catch (IOException e) {
                throw lost(unsent != null ? unsent : e);
            }
            if (f == null && unsent != null) {
                throw lost(unsent);
            }
            if (f == null || f.kind() != Frame.JSON) {
                throw new BrokerException(ErrorCode.INTERNAL, f == null
                        ? "the daemon closed the connection during 'hello'" : "unexpected " + f + " in reply to 'hello'");
            }
            hello = check(Message.parse(f.payload()));
        }
    }

    private boolean helloRead() {
        synchronized (in) {
            return hello != null;
        }
    }

    /**
     * Starts the JDK's Unix-domain socket set-up on a background thread, so that a client that
     * connects a few milliseconds later finds it done: the first {@code SocketChannel.open(UNIX)}
     * of a JVM sets up its {@code SelectorProvider} (a method-handle lambda, and a look for
     * provider services on the class path unless the property names one) and seeds a
     * {@code SecureRandom} for the JDK's temporary socket names (the security providers' set-up),
     * 10-30 ms of {@code brokerctl run}'s start-up that otherwise come after building the request
     * and {@link SocketCheck}, one after the other. It opens a channel and closes it unconnected:
     * nothing is sent, and {@link #connect} still checks the socket before it connects. A
     * {@link #connect} that comes first waits on the JDK's class initialisation as it would anyway.
     */
    public static void prepareConnect() {
        Thread t = new Thread(new Runnable() {   // not a lambda: the first lambda of a JVM costs ms
            @Override
            public void run() {
                try {
                    SocketChannel.open(StandardProtocolFamily.UNIX).close();
                } catch (IOException | RuntimeException e) {
                    // connect() opens its own and reports what fails
                }
            }
        }, "socket-setup");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Connects and says hello.
     *
     * @param client what to show the human about this client, e.g. {@code {name: "brokerctl run"}}
     * @throws DaemonUnavailableException when no daemon listens on {@code socket}
     */
    public static BrokerClient connect(Path socket, Map<String, Object> client) throws BrokerException {
        SocketCheck.beforeConnect(socket);
        SocketChannel ch;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException e) {
            throw new BrokerException(ErrorCode.INTERNAL, "cannot open a Unix socket: " + e.getMessage(), e);
        }
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (ConnectException e) {
            close(ch);
            throw new DaemonUnavailableException("no brokerctl daemon is running (stale socket "
                    + socket + "); start one with: brokerctl daemon", e);
        } catch (IOException e) {
            close(ch);
            String why = String.valueOf(e.getMessage());
            if (why.contains("Permission denied")) {
                // Files.exists() would say "no such file" here: the directory is someone else's
                throw new BrokerException(ErrorCode.INTERNAL, "permission denied on " + socket
                        + ": that daemon belongs to another user, and serves only its own user");
            }
            if (why.contains("No such file") || !Files.exists(socket)) {
                throw new DaemonUnavailableException("no brokerctl daemon is running (no socket at "
                        + socket + "); start one with: brokerctl daemon", e);
            }
            throw new DaemonUnavailableException("cannot connect to the brokerctl daemon at " + socket
                    + ": " + why, e);
        }
        try {
            return new BrokerClient(ch, ch, ch, socket.toString(), client);
        } catch (BrokerException e) {
            close(ch);
            throw e;
        }
    }

    /**
     * A client over two in-process channels (the foreground daemon's own console), no socket in
     * between; {@code closer} closes both ends.
     */
    public static BrokerClient inProcess(java.nio.channels.ReadableByteChannel from,
            java.nio.channels.WritableByteChannel to, java.io.Closeable closer, Map<String, Object> client)
            throws BrokerException {
        return new BrokerClient(from, to, closer, "in-process", client);
    }

    /** What the client says when the peer cannot prove it holds the vault's key. */
    public static String impostor(String socket) {
        return "the process at " + socket + " could not prove it holds your vault's key; it is not your"
                + " brokerctl daemon. Stop it and start `brokerctl daemon` again.";
    }

    /**
     * Runs the {@link Handshake} as the client: sends a fresh nonce, checks the daemon's proof
     * before sending anything derived from {@code psk}, then proves itself; from then on every
     * frame both ways is sealed. {@code psk} is the caller's (not zeroed here).
     *
     * @return the session keys (the caller zeroes them; {@code unlockTransport} is for unlock)
     * @throws BrokerException {@link ErrorCode#NOT_AUTHENTIC} when the daemon's proof is wrong,
     *     or the daemon's refusal (locked, not locked)
     */
    public Handshake.SessionKeys authenticate(Handshake.Role role, byte[] psk, java.security.SecureRandom random)
            throws BrokerException {
        java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
        byte[] clientNonce = Handshake.nonce(random);
        Message challenge = call(Message.of("handshake").with("role", role.wire())
                .with("client_nonce", b64.encodeToString(clientNonce)));
        byte[] daemonNonce;
        byte[] daemonProof;
        try {
            if (!challenge.type().equals("handshake_challenge")) {
                throw new IllegalArgumentException(challenge.type());
            }
            daemonNonce = java.util.Base64.getDecoder().decode(challenge.string("daemon_nonce"));
            daemonProof = java.util.Base64.getDecoder().decode(challenge.string("daemon_proof"));
        } catch (BrokerException | IllegalArgumentException e) {
            throw new BrokerException(ErrorCode.NOT_AUTHENTIC, impostor(where));
        }
        if (daemonNonce.length != Handshake.NONCE_BYTES) {
            throw new BrokerException(ErrorCode.NOT_AUTHENTIC, impostor(where));
        }
        Handshake h = Handshake.of(role, psk, clientNonce, daemonNonce);
        try {
            if (!h.daemonProofMatches(daemonProof)) {
                throw new BrokerException(ErrorCode.NOT_AUTHENTIC, impostor(where));
            }
            Handshake.SessionKeys keys = h.sessionKeys();
            Sealed receive = new Sealed(keys.daemonToClient(), Sealed.DAEMON_TO_CLIENT);
            send(Message.of("handshake_finish").with("client_proof", b64.encodeToString(h.clientProof())));
            Frame f = receive();
            if (f == null) {
                throw new BrokerException(ErrorCode.NOT_AUTHENTIC, "the daemon closed the connection after the"
                        + " handshake; see its log");
            }
            if (f.kind() == Frame.JSON) {
                check(Message.parse(f.payload()));
                throw new BrokerException(ErrorCode.NOT_AUTHENTIC, "the daemon did not seal its reply to the handshake");
            }
            Message ok;
            try {
                ok = check(Message.parse(receive.open(f).payload()));
            } catch (Sealed.TamperedException e) {
                throw tampered(e);
            }
            if (!ok.type().equals("ok")) {
                throw new BrokerException(ErrorCode.NOT_AUTHENTIC, "unexpected '" + ok.type() + "' after the handshake");
            }
            receiveSeal = receive;
            synchronized (out) {
                sendSeal = new Sealed(keys.clientToDaemon(), Sealed.CLIENT_TO_DAEMON);
            }
            return keys;
        } finally {
            h.destroy();
        }
    }

    /** True once {@link #authenticate} succeeded: every frame both ways is sealed. */
    public boolean sealed() {
        return sendSeal != null;
    }

    private BrokerException tampered(Sealed.TamperedException e) {
        return new BrokerException(ErrorCode.NOT_AUTHENTIC, "a message from " + where + " was altered, replayed"
                + " or dropped on the way (" + e.getMessage() + "); something between this client and the daemon"
                + " is rewriting the connection, so nothing more is trusted on it. Check what listens at "
                + where + ", stop it, and start `brokerctl daemon` again", e);
    }

    /** The daemon's hello reply: {@code protocol}, {@code pid}, {@code locked}. */
    public Message hello() throws BrokerException {
        readHello();
        return hello;
    }

    /** Sends a request and waits for its reply. */
    public Message call(Message request) throws BrokerException {
        try {
            send(request);
        } catch (BrokerException e) {
            // The daemon may have answered and closed before reading us (a refused peer):
            // its error is still in our receive buffer and says more than "broken pipe".
            throw waitingError().orElse(e);
        }
        return expectReply(request);
    }

    private java.util.Optional<BrokerException> waitingError() {
        try {
            Frame f = Frame.read(in);
            if (f != null && f.kind() == Frame.JSON) {
                check(Message.parse(f.payload()));
            }
        } catch (BrokerException e) {
            return java.util.Optional.of(e);
        } catch (IOException e) {
            // nothing readable either
        }
        return java.util.Optional.empty();
    }

    /** Sends a request followed by a secret frame (zeroed after sending) and waits for the reply. */
    public Message call(Message request, byte[] secret) throws BrokerException {
        sendWithSecret(request, secret);
        return expectReply(request);
    }

    /** Sends a request followed by a secret frame (zeroed after sending); the reply is the caller's. */
    public void sendWithSecret(Message request, byte[] secret) throws BrokerException {
        try {
            synchronized (out) {
                writeFrame(Frame.JSON, request.toJson(), 0, -1);
                writeFrame(Frame.SECRET, secret, 0, secret.length);
                out.flush();
            }
        } catch (IOException e) {
            throw lost(e);
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
    }

    private Message expectReply(Message request) throws BrokerException {
        Frame f = receive();
        if (f == null) {
            throw new BrokerException(ErrorCode.INTERNAL, "the daemon closed the connection during '"
                    + request.type() + "'");
        }
        if (f.kind() != Frame.JSON) {
            throw new BrokerException(ErrorCode.INTERNAL, "unexpected " + f + " in reply to '"
                    + request.type() + "'");
        }
        return check(Message.parse(f.payload()));
    }

    /** Throws the error an {@code error} message carries; returns other messages. */
    public static Message check(Message m) throws BrokerException {
        if (m.type().equals("error")) {
            throw new BrokerException(ErrorCode.fromWire(m.string("code", "internal")),
                    m.string("message", "the daemon reported an error"));
        }
        return m;
    }

    public void send(Message m) throws BrokerException {
        try {
            synchronized (out) {
                writeFrame(Frame.JSON, m.toJson(), 0, -1);
                out.flush();
            }
        } catch (IOException e) {
            // a daemon that refused the hello answered and closed: its reason beats "broken pipe"
            throw helloRead() ? lost(e) : waitingHelloError().orElse(lost(e));
        }
    }

    private java.util.Optional<BrokerException> waitingHelloError() {
        try {
            readHello();
        } catch (BrokerException e) {
            return java.util.Optional.of(e);
        }
        return java.util.Optional.empty();
    }

    public void sendData(byte kind, byte[] b, int off, int len) throws BrokerException {
        try {
            synchronized (out) {
                writeFrame(kind, b, off, len);
                out.flush();
            }
        } catch (IOException e) {
            throw lost(e);
        }
    }

    private void writeFrame(byte kind, byte[] b, int off, int len) throws IOException {
        int n = len < 0 ? b.length : len;
        if (sendSeal != null) {
            byte[] sealed = sendSeal.seal(kind, b, off, n);
            Frame.write(out, Frame.SEALED, sealed, 0, sealed.length);
            return;
        }
        Frame.write(out, kind, b, off, n);
    }

    /** The next frame from the daemon, or null when it closed the connection. */
    public Frame receive() throws BrokerException {
        readHello();
        Frame f;
        try {
            f = Frame.read(in);
        } catch (IOException e) {
            throw lost(e);
        }
        Sealed seal = receiveSeal;
        if (f == null || seal == null) {
            return f;
        }
        try {
            return seal.open(f);
        } catch (Sealed.TamperedException e) {
            close();
            throw tampered(e);
        }
    }

    public InputStream rawInput() {
        return in;
    }

    private static BrokerException lost(IOException e) {
        String why = e instanceof SocketException || e.getMessage() == null ? "connection lost" : e.getMessage();
        return new BrokerException(ErrorCode.INTERNAL, "lost the connection to the brokerctl daemon ("
                + why + "); check it with: brokerctl status", e);
    }

    @Override
    public void close() {
        close(channel);
    }

    private static void close(java.io.Closeable ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to flush: every request was flushed when sent
        }
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}

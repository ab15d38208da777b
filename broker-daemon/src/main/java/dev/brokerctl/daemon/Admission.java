package dev.brokerctl.daemon;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes new connections in (docs/architecture.md, "Connection limits"). One thread accepts and
 * reads every new connection without blocking until it has sent its hello and its first request:
 * a connection that says nothing costs a socket and a few bytes, no thread. Until then nobody can
 * tell an approver console from a requester, so this queue is never closed to a newcomer: when it
 * is full the oldest connection of the process that holds the most is evicted (with a
 * {@code too_many_connections} error) and the new one taken. A flood from one process so evicts
 * only itself; the console's one connection stays. The first request then decides the
 * connection's class: a {@code handshake} takes one of the approver slots, reserved apart from
 * the requesters'; anything else a requester slot, counted in total and per process
 * ({@link Slots}). Past a requester limit the connection gets {@code too_many_connections}.
 */
final class Admission implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(Admission.class);
    /** Accepted per wakeup, so the reads of connections already queued are not starved by a flood. */
    private static final int ACCEPT_BATCH = 16;
    private static final int HEADER_BYTES = 5;

    private final Daemon daemon;
    private final ServerSocketChannel server;
    private final DaemonConfig.Limits limits;
    private final Selector selector;
    /** In arrival order, so also in deadline order; this thread only. */
    private final LinkedHashSet<Pending> pending = new LinkedHashSet<>();
    private final Map<Long, Integer> pendingPerPid = new HashMap<>();
    private long buffered;
    private volatile boolean closed;
    private final AtomicLong evicted = new AtomicLong();
    private final AtomicLong timedOut = new AtomicLong();
    private long lastReported;
    private long reportedAt;

    /** A connection that has not sent its hello and first request; this thread only. */
    private static final class Pending {
        final SocketChannel ch;
        final long pid;
        final long deadline;
        final ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
        SelectionKey key;
        byte kind;
        ByteBuffer payload;
        int reserved;
        Message hello;
        Frame first;
        boolean handshake;

        Pending(SocketChannel ch, long pid, long deadline) {
            this.ch = ch;
            this.pid = pid;
            this.deadline = deadline;
        }
    }

    Admission(Daemon daemon, ServerSocketChannel server, DaemonConfig.Limits limits) throws IOException {
        this.daemon = daemon;
        this.server = server;
        this.limits = limits;
        this.selector = Selector.open();
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
    }

    /** Stops taking connections; the pending ones are closed by the thread on its way out. */
    void close() {
        closed = true;
        selector.wakeup();
    }

    int pending() {
        synchronized (pending) {
            return pending.size();
        }
    }

    /** Evicted from the full pending queue (or its byte budget) since start. */
    long evicted() {
        return evicted.get();
    }

    /** Closed for no hello and first request in time since start. */
    long timedOut() {
        return timedOut.get();
    }

    @Override
    public void run() {
        List<Pending> ready = new ArrayList<>();
        try {
            while (!closed) {
                long wait = expire(System.nanoTime());
                try {
                    selector.select(wait);
                } catch (IOException e) {
                    LOG.warn("select failed: {}", e.getMessage());
                    continue;
                }
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext() && !closed) {
                    SelectionKey k = it.next();
                    it.remove();
                    if (!k.isValid()) {
                        continue;
                    }
                    if (k.isAcceptable()) {
                        acceptSome();
                    } else if (k.isReadable()) {
                        read((Pending) k.attachment(), ready);
                    }
                }
                if (!ready.isEmpty()) {
                    try {
                        selector.selectNow();   // deregisters the cancelled keys: the channels may block again
                    } catch (IOException ignored) {
                        // the channels below then fail configureBlocking and are closed
                    }
                    for (Pending p : ready) {
                        handOver(p);
                    }
                    ready.clear();
                }
            }
        } catch (ClosedSelectorException e) {
            // closing
        } finally {
            for (Pending p : List.copyOf(pending)) {
                drop(p);
            }
            try {
                selector.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    private void acceptSome() {
        for (int i = 0; i < ACCEPT_BATCH; i++) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (ClosedChannelException e) {
                closed = true;
                return;
            } catch (IOException e) {
                // EMFILE and the like: the queue above frees descriptors as it evicts and expires
                LOG.warn("accept failed: {}", e.getMessage());
                return;
            }
            if (ch == null) {
                return;
            }
            if (!daemon.peerAllowed(ch)) {
                continue;
            }
            long pid = Peer.pidOf(ch);
            while (pending.size() >= limits.maxPending()) {
                evict(victim(false), "the daemon's queue of " + limits.maxPending() + " connections that have not"
                        + " said hello is full and this was the oldest of the process with the most");
            }
            try {
                ch.configureBlocking(false);
                Pending p = new Pending(ch, pid, System.nanoTime() + limits.helloTimeout().toNanos());
                p.key = ch.register(selector, SelectionKey.OP_READ, p);
                synchronized (pending) {
                    pending.add(p);
                }
                pendingPerPid.merge(pid, 1, Integer::sum);
            } catch (IOException e) {
                closeQuietly(ch);
            }
        }
    }

    /** Reads what has arrived; a connection whose first request is whole goes to {@code ready}. */
    private void read(Pending p, List<Pending> ready) {
        try {
            while (true) {
                if (p.payload == null) {
                    if (p.ch.read(p.header) < 0) {
                        drop(p);
                        return;
                    }
                    if (p.header.hasRemaining()) {
                        return;
                    }
                    p.header.flip();
                    int length = p.header.getInt();
                    p.kind = p.header.get();
                    Frame.checkLength(length);
                    Frame.checkKind(p.kind);
                    if (!reserve(p, length - 1)) {
                        return;
                    }
                    p.payload = ByteBuffer.allocate(length - 1);
                }
                if (p.payload.hasRemaining() && p.ch.read(p.payload) < 0) {
                    drop(p);
                    return;
                }
                if (p.payload.hasRemaining()) {
                    return;
                }
                Frame f = new Frame(p.kind, p.payload.array());
                p.payload = null;
                p.header.clear();
                release(p);
                if (p.hello == null && isHello(f)) {
                    if (!answerHello(p, f)) {
                        return;
                    }
                    continue;
                }
                p.first = f;
                p.handshake = isHandshake(f);
                remove(p);
                p.key.cancel();
                ready.add(p);
                return;
            }
        } catch (Frame.MalformedFrameException e) {
            refuse(p, e.getMessage().contains("outside 1..") ? ErrorCode.FRAME_TOO_LARGE : ErrorCode.BAD_REQUEST,
                    e.getMessage() + "; closing the connection");
        } catch (IOException e) {
            drop(p);
        }
    }

    private static boolean isHello(Frame f) {
        return f.kind() == Frame.JSON && type(f).equals("hello");
    }

    private static boolean isHandshake(Frame f) {
        return f.kind() == Frame.JSON && type(f).equals("handshake");
    }

    private static String type(Frame f) {
        try {
            return Message.parse(f.payload()).type();
        } catch (BrokerException | RuntimeException e) {
            return "";   // the connection's own thread answers what it is
        }
    }

    /** Answers the hello here (a client may wait for it before it sends anything else). */
    private boolean answerHello(Pending p, Frame f) throws IOException {
        Message hello;
        try {
            hello = Message.parse(f.payload());
        } catch (BrokerException e) {
            throw new IllegalStateException(e);   // isHello parsed it
        }
        Connection.HelloReply reply = Connection.helloReply(daemon, hello);
        if (!writeNow(p.ch, reply.message()) || reply.refused()) {
            drop(p);
            return false;
        }
        p.hello = hello;
        return true;
    }

    private void handOver(Pending p) {
        try {
            p.ch.configureBlocking(true);
        } catch (IOException | RuntimeException e) {
            closeQuietly(p.ch);
            return;
        }
        try {
            daemon.admit(p.ch, p.pid, p.hello, p.first, p.handshake);
        } catch (RuntimeException | OutOfMemoryError e) {
            // no thread for it (the JVM's native threads used up): this connection goes, the
            // selector thread and every other connection go on
            LOG.warn("cannot take a connection of pid {}: {}", p.pid, Log.cause(e));
            closeQuietly(p.ch);
        }
    }

    /** Buffers {@code n} more bytes for {@code p}, evicting others past the budget; false if {@code p} went. */
    private boolean reserve(Pending p, int n) {
        while (buffered + n > limits.pendingBytes()) {
            Pending v = victim(true);
            evict(v, "the daemon's " + (limits.pendingBytes() >> 20) + " MiB for frames of connections that have"
                    + " not said hello is used up and this was the oldest of the process with the most");
            if (v == p) {
                return false;
            }
        }
        buffered += n;
        p.reserved = n;
        return true;
    }

    private void release(Pending p) {
        buffered -= p.reserved;
        p.reserved = 0;
    }

    /** The oldest pending connection of the process with the most ({@code withBytes}: among those buffering). */
    private Pending victim(boolean withBytes) {
        int most = 0;
        for (Pending p : pending) {
            if (!withBytes || p.reserved > 0) {
                most = Math.max(most, pendingPerPid.getOrDefault(p.pid, 0));
            }
        }
        for (Pending p : pending) {
            if ((!withBytes || p.reserved > 0) && pendingPerPid.getOrDefault(p.pid, 0) == most) {
                return p;
            }
        }
        throw new IllegalStateException("no pending connection to evict");
    }

    private void evict(Pending p, String why) {
        evicted.incrementAndGet();
        refuse(p, ErrorCode.TOO_MANY_CONNECTIONS, "connection evicted: " + why + "; a flood of connections"
                + " is filling the daemon (see brokerd.log); connect again, or stop the process that floods it");
    }

    /** Closes the connections past their hello deadline; how long select may wait for the next one. */
    private long expire(long now) {
        Iterator<Pending> it = pending.iterator();
        List<Pending> late = new ArrayList<>();
        long next = 0;
        while (it.hasNext()) {
            Pending p = it.next();
            if (p.deadline - now > 0) {
                next = Math.max(1, (p.deadline - now) / 1_000_000L + 1);
                break;
            }
            late.add(p);
        }
        for (Pending p : late) {
            timedOut.incrementAndGet();
            refuse(p, ErrorCode.TOO_SLOW, "no hello and first request within "
                    + dev.brokerctl.protocol.Durations.format(limits.helloTimeout()) + " of connecting; the daemon"
                    + " closed this connection. A client sends its hello and first request at once: connect again");
        }
        report(now);
        return next;
    }

    /** One log line per burst, not one per connection of a flood. */
    private void report(long now) {
        long total = evicted.get() + timedOut.get();
        if (total != lastReported && (reportedAt == 0 || now - reportedAt > 10_000_000_000L)) {
            Map.Entry<Long, Integer> top = pendingPerPid.entrySet().stream().max(Map.Entry.comparingByValue())
                    .orElse(null);
            LOG.warn("connection limits: {} evicted from the full pre-hello queue and {} closed for no hello in {}"
                    + " since the daemon started; a process may be flooding the socket{}", evicted.get(), timedOut.get(),
                    dev.brokerctl.protocol.Durations.format(limits.helloTimeout()), top == null ? ""
                            : " (pid " + top.getKey() + " holds " + top.getValue() + " of the " + pending.size()
                                    + " pending connections)");
            lastReported = total;
            reportedAt = now;
        }
    }

    private void refuse(Pending p, ErrorCode code, String message) {
        writeNow(p.ch, Message.of("error").with("code", code.wire()).with("message", message));
        drop(p);
    }

    private void drop(Pending p) {
        if (remove(p)) {
            release(p);
        }
        closeQuietly(p.ch);
    }

    private boolean remove(Pending p) {
        boolean was;
        synchronized (pending) {
            was = pending.remove(p);
        }
        if (was) {
            pendingPerPid.computeIfPresent(p.pid, (k, v) -> v == 1 ? null : v - 1);
        }
        return was;
    }

    /** One small frame on a non-blocking channel: whatever the socket takes now, never waiting. */
    private static boolean writeNow(SocketChannel ch, Message m) {
        byte[] json = m.toJson();
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + json.length);
        b.putInt(json.length + 1).put(Frame.JSON).put(json).flip();
        try {
            ch.write(b);
        } catch (IOException e) {
            return false;
        }
        return !b.hasRemaining();
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    /**
     * The slots of admitted connections: requesters in total and per process, approvers (every
     * connection that began with a handshake) reserved apart. Thread-safe.
     */
    static final class Slots {

        private final DaemonConfig.Limits limits;
        private final Map<Connection, Long> requesters = new HashMap<>();
        private final Map<Long, Integer> perPid = new HashMap<>();
        /** In admission order: the oldest unproven one is evicted first. */
        private final LinkedHashSet<Connection> approvers = new LinkedHashSet<>();
        private final java.util.Set<Connection> proven = new java.util.HashSet<>();
        private final Map<Connection, Long> approverPid = new HashMap<>();

        Slots(DaemonConfig.Limits limits) {
            this.limits = limits;
        }

        /** Takes a slot for {@code c}; the refusal's message, or null when admitted. */
        synchronized String take(Connection c, long pid, boolean handshake) {
            if (handshake) {
                if (approvers.size() >= limits.maxApprovers()) {
                    Connection v = unprovenVictim();
                    if (v == null) {
                        return "the daemon has " + limits.maxApprovers() + " approver connections that proved the"
                                + " vault key, its limit; close a console (brokerctl approve) and retry";
                    }
                    release(v);
                    v.expire(ErrorCode.TOO_MANY_CONNECTIONS, "connection evicted: the " + limits.maxApprovers()
                            + " approver slots are full of unfinished handshakes and this was the oldest of the process"
                            + " with the most; connect again, or stop the process that floods the daemon");
                }
                approvers.add(c);
                approverPid.put(c, pid);
                return null;
            }
            if (requesters.size() >= limits.maxRequesters()) {
                return "the daemon holds " + limits.maxRequesters() + " requester connections, its limit; close idle"
                        + " connections (or let pending runs be decided) and retry";
            }
            int mine = perPid.getOrDefault(pid, 0);
            if (pid > 0 && mine >= limits.maxPerPid()) {
                return "process " + pid + " holds " + mine + " connections to the daemon, the limit per process;"
                        + " close some (or let their runs finish) and retry";
            }
            requesters.put(c, pid);
            perPid.merge(pid, 1, Integer::sum);
            return null;
        }

        private Connection unprovenVictim() {
            Map<Long, Integer> count = new HashMap<>();
            for (Connection a : approvers) {
                if (!proven.contains(a)) {
                    count.merge(approverPid.get(a), 1, Integer::sum);
                }
            }
            int most = count.values().stream().mapToInt(Integer::intValue).max().orElse(0);
            for (Connection a : approvers) {
                if (!proven.contains(a) && count.get(approverPid.get(a)) == most) {
                    return a;
                }
            }
            return null;
        }

        synchronized void proven(Connection c) {
            if (approvers.contains(c)) {
                proven.add(c);
            }
        }

        synchronized boolean isUnprovenApprover(Connection c) {
            return approvers.contains(c) && !proven.contains(c);
        }

        /** Idempotent. */
        synchronized void release(Connection c) {
            Long pid = requesters.remove(c);
            if (pid != null) {
                perPid.computeIfPresent(pid, (k, v) -> v == 1 ? null : v - 1);
            }
            if (approvers.remove(c)) {
                proven.remove(c);
                approverPid.remove(c);
            }
        }

        synchronized int requesters() {
            return requesters.size();
        }

        synchronized int approvers() {
            return approvers.size();
        }
    }
}

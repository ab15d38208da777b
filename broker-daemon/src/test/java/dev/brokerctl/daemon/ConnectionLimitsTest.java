package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connection limits (docs/architecture.md, "Connection limits") with small figures: past
 * each one the connection gets its error frame, the daemon goes on, and an approver still gets in.
 */
class ConnectionLimitsTest {

    /** Small limits; the deadlines short, so each test waits on the daemon's own frame, not a sleep. */
    static final DaemonConfig.Limits SMALL = new DaemonConfig.Limits(8, Duration.ofSeconds(1), 2 << 20, 4, 3, 2,
            Duration.ofSeconds(1), Duration.ofSeconds(1));
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path tmp;
    DaemonFixture f;
    final List<SocketChannel> raw = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (SocketChannel c : raw) {
            c.close();
        }
        if (f != null) {
            f.close();
        }
    }

    private DaemonFixture start(DaemonConfig.Limits limits) throws Exception {
        f = new DaemonFixture(tmp, c -> c.withLimits(limits)).start(Duration.ofSeconds(120), true);
        return f;
    }

    private SocketChannel open() throws IOException {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(f.socket));
        raw.add(c);
        return c;
    }

    private static void send(SocketChannel c, Message m) throws IOException {
        OutputStream out = Channels.newOutputStream(c);
        byte[] json = m.toJson();
        Frame.write(out, Frame.JSON, json, 0, json.length);
        out.flush();
    }

    /** A connection that said hello and asked for status, and read both answers: a requester holding a slot. */
    private SocketChannel requester() throws Exception {
        SocketChannel c = open();
        send(c, Message.of("hello").with("protocol", BrokerClient.PROTOCOL_VERSION));
        send(c, Message.of("status"));
        assertEquals("hello", next(c).type());
        assertEquals("status", next(c).type());
        return c;
    }

    private static Message next(SocketChannel c) throws Exception {
        DataInputStream in = new DataInputStream(Channels.newInputStream(c));
        Frame fr = assertTimeoutPreemptively(WAIT, () -> Frame.read(in));
        assertTrue(fr != null, "the daemon closed the connection without a frame");
        return Message.parse(fr.payload());
    }

    /** The error frame the daemon sent before it closed {@code c}. */
    private static Message errorThenClosed(SocketChannel c) throws Exception {
        DataInputStream in = new DataInputStream(Channels.newInputStream(c));
        Message m = assertTimeoutPreemptively(WAIT, () -> {
            Frame fr;
            while ((fr = Frame.read(in)) != null) {
                Message x = Message.parse(fr.payload());
                if (x.type().equals("error")) {
                    return x;
                }
            }
            return null;
        });
        assertTrue(m != null, "closed without an error frame");
        assertNull(assertTimeoutPreemptively(WAIT, () -> Frame.read(in)), "still open after its error");
        return m;
    }

    private void daemonGoesOn() throws BrokerException {
        try (BrokerClient c = f.connect()) {
            assertEquals("status", c.call(Message.of("status")).type());
        }
    }

    @Test
    void aFullPreHelloQueue_evictsItsOldest_notTheNewcomer_andAnApproverStillGetsIn() throws Exception {
        start(SMALL);
        List<SocketChannel> idle = new ArrayList<>();
        for (int i = 0; i < SMALL.maxPending(); i++) {
            idle.add(open());
        }
        SocketChannel newcomer = open();   // the queue was full: the oldest goes
        Message evicted = errorThenClosed(idle.get(0));
        assertEquals("too_many_connections", evicted.string("code"));
        assertTrue(evicted.string("message").contains("connect again"), evicted.string("message"));
        // the newcomer was taken: it says hello and is answered
        send(newcomer, Message.of("hello").with("protocol", BrokerClient.PROTOCOL_VERSION));
        assertEquals("hello", next(newcomer).type());
        // an approver proves the key past the full queue (it evicts one more idle connection)
        try (BrokerClient approver = f.approver()) {
            assertEquals("pending", approver.call(Message.of("pending_list")).type());
        }
        assertEquals("too_many_connections", errorThenClosed(idle.get(1)).string("code"));
        assertTrue(f.daemon.status().asMap().get("connections").toString().contains("evicted="));
        daemonGoesOn();
    }

    @Test
    void theEvictedOne_isTheOldestOfTheProcessWithTheMost_soAFloodFromAnotherProcessEvictsOnlyItself() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "needs python3");
        // deadlines long enough for python to start: only the eviction rule decides here
        start(new DaemonConfig.Limits(SMALL.maxPending(), Duration.ofSeconds(60), SMALL.pendingBytes(),
                SMALL.maxRequesters(), SMALL.maxPerPid(), SMALL.maxApprovers(), Duration.ofSeconds(60),
                Duration.ofSeconds(60)));
        SocketChannel mine = open();   // the oldest pending connection, of this process (one)
        // another process opens twice the queue and holds them; it prints how many the daemon closed
        Process flood = new ProcessBuilder("/usr/bin/python3", "-c", String.join("\n",
                "import socket, sys",
                "socks = []",
                "for _ in range(" + 2 * SMALL.maxPending() + "):",
                "    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); socks.append(s)",
                "closed = 0",
                "for s in socks[:" + SMALL.maxPending() + "]:",
                "    closed += s.recv(4096) != b''",
                "print(closed, flush=True)",
                "sys.stdin.read()"), f.socket.toString()).redirectErrorStream(true).start();
        try {
            String line = new java.io.BufferedReader(new java.io.InputStreamReader(flood.getInputStream())).readLine();
            assertEquals(Integer.toString(SMALL.maxPending()), line, "the flood's first connections got their eviction");
            // this process's connection, the oldest of all, is still there: it says hello and is answered
            send(mine, Message.of("hello").with("protocol", BrokerClient.PROTOCOL_VERSION));
            assertEquals("hello", next(mine).type());
        } finally {
            flood.destroyForcibly().waitFor();
        }
    }

    @Test
    void noHelloInTime_getsTooSlow_andASlowlorisFrameAfterTheHello_too() throws Exception {
        start(SMALL);
        SocketChannel silent = open();
        Message late = errorThenClosed(silent);
        assertEquals("too_slow", late.string("code"));
        assertTrue(late.string("message").contains("no hello and first request within 1s"), late.string("message"));

        // a hello sent one byte at a time never completes in time either
        SocketChannel drip = open();
        drip.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0}));
        assertEquals("too_slow", errorThenClosed(drip).string("code"));

        // past the hello: a frame whose first bytes came, then nothing
        SocketChannel slow = requester();
        slow.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0, 0, 10, Frame.JSON, '{'}));
        Message cut = errorThenClosed(slow);
        assertEquals("too_slow", cut.string("code"));
        assertTrue(cut.string("message").contains("a frame did not arrive whole within 1s"), cut.string("message"));
        daemonGoesOn();
    }

    @Test
    void anIdleRequesterAfterItsRequest_isNotTimedOut() throws Exception {
        start(SMALL);
        SocketChannel idle = requester();
        // connections opened after it meet their deadlines (hello, then a frame's): its own have passed too
        assertEquals("too_slow", errorThenClosed(open()).string("code"));
        SocketChannel slow = requester();
        slow.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0}));
        assertEquals("too_slow", errorThenClosed(slow).string("code"));
        send(idle, Message.of("status"));
        assertEquals("status", next(idle).type());
    }

    @Test
    void requestersPastTheirLimits_perProcessAndInTotal_getTooManyConnections_approversStillGetIn() throws Exception {
        start(SMALL);
        for (int i = 0; i < SMALL.maxPerPid(); i++) {
            requester();
        }
        SocketChannel over = open();
        send(over, Message.of("hello").with("protocol", BrokerClient.PROTOCOL_VERSION));
        send(over, Message.of("status"));
        assertEquals("hello", next(over).type());
        Message refused = errorThenClosed(over);
        assertEquals("too_many_connections", refused.string("code"));
        assertTrue(refused.string("message").contains("process " + ProcessHandle.current().pid() + " holds "
                + SMALL.maxPerPid() + " connections"), refused.string("message"));
        try (BrokerClient approver = f.approver()) {
            assertEquals("pending", approver.call(Message.of("pending_list")).type());
        }
        // a requester slot frees when its connection closes
        raw.remove(0).close();
        awaitRequesters(SMALL.maxPerPid() - 1);
        requester();
    }

    @Test
    void unfinishedHandshakes_areEvictedByARealApprover_andTimedOut() throws Exception {
        start(SMALL);
        List<SocketChannel> fakes = new ArrayList<>();
        for (int i = 0; i < SMALL.maxApprovers(); i++) {
            SocketChannel c = open();
            send(c, Message.of("hello").with("protocol", BrokerClient.PROTOCOL_VERSION));
            send(c, Message.of("handshake").with("role", "approver").with("client_nonce",
                    java.util.Base64.getEncoder().encodeToString(new byte[32])));
            assertEquals("hello", next(c).type());
            assertEquals("handshake_challenge", next(c).type());
            fakes.add(c);
        }
        try (BrokerClient approver = f.approver()) {
            assertEquals("too_many_connections", errorThenClosed(fakes.get(0)).string("code"));
            // the other never finishes: closed at the handshake time limit; the proven one stays
            Message late = errorThenClosed(fakes.get(1));
            assertEquals("too_slow", late.string("code"));
            assertTrue(late.string("message").contains("handshake was not finished"), late.string("message"));
            assertEquals("pending", approver.call(Message.of("pending_list")).type());
        }
        daemonGoesOn();
    }

    private void awaitRequesters(int n) throws Exception {
        assertTimeoutPreemptively(WAIT, () -> {
            while (((Number) ((Map<?, ?>) f.daemon.status().asMap().get("connections")).get("requesters")).intValue() != n) {
                Thread.onSpinWait();
            }
        });
    }
}

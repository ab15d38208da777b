package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every message the daemon dispatches needs an approver, but those on {@link #REQUESTER_MAY}, each
 * with the reason a plain same-user connection may send it. The dispatch is walked, not listed
 * here: every lower-case string constant in the daemon's classes is sent as a message type, and
 * every one the daemon does not answer with "unknown message type" is a message it handles. So a
 * message added to the daemon is covered without editing this test: it must check the role before
 * anything else (a bare message from a requester gets {@code not_approver}), or be added to the
 * allowlist with its reason.
 */
class ProtocolAllowlistTest {

    /** What a requester (any same-user connection, no key proven) may send, and why. */
    static final Map<String, String> REQUESTER_MAY = Map.ofEntries(
            Map.entry("hello", "opens every connection"),
            Map.entry("status", "read-only: running, locked, pid, containment"),
            Map.entry("handshake", "how a connection proves a key; the proof decides the role"),
            Map.entry("handshake_finish", "the second half of that proof"),
            Map.entry("unlock_key", "carries the vault key itself, sealed under the unlock handshake's key"
                    + " and checked against the verifier the daemon kept at lock"),
            Map.entry("unlock", "refused for every client: the passphrase never crosses the socket"),
            Map.entry("authenticate", "refused for every client, as 'unlock'"),
            Map.entry("lock", "only takes capability away (threat model: denial of service by the same user)"),
            Map.entry("stop", "only takes capability away, as 'lock'"),
            Map.entry("grants_revoke", "only takes permission away"),
            Map.entry("list_environments", "names and policies, never a value"),
            Map.entry("run_get", "a detached (MCP) run's state and masked output (a detached run is always"
                    + " masked), by its handle; run_list gives the handles to the same user's requesters"),
            Map.entry("run_stop", "stops a detached run by its unguessable handle: only takes capability away"),
            Map.entry("run_list", "the detached (MCP) runs' statuses and handles: the same user's agents may"
                    + " read them back from any session (threat model: what the registry exposes to the same user)"),
            Map.entry("list_variables", "names and descriptions, never a value"),
            Map.entry("grants_list", "what grants exist (argv, cwd, names), never a value"),
            Map.entry("run", "a request: the environment's policy or an approver decides whether it runs"),
            Map.entry("signal", "acts on this connection's own run only"),
            Map.entry("cancel", "acts on this connection's own run only"),
            Map.entry("request_variable", "asks the human; the value comes only from an approver"));

    /** Dispatched types that must be found, or the walk itself is broken. */
    static final Set<String> SURELY_APPROVER_ONLY = Set.of("decide", "pending_list", "provide_variable");

    static final Duration REPLY_WAIT = Duration.ofSeconds(10);

    @TempDir
    Path tmp;
    final List<DaemonFixture> fixtures = new ArrayList<>();
    DaemonFixture f;

    @AfterEach
    void stop() throws Exception {
        // every daemon down first: each fixture's close checks that no daemon thread is left
        for (DaemonFixture x : fixtures) {
            x.daemon.shutdown();
        }
        for (DaemonFixture x : fixtures) {
            x.close();
        }
    }

    private void startDaemon() throws Exception {
        f = new DaemonFixture(tmp.resolve("daemon-" + fixtures.size())).start(Duration.ofSeconds(120), true);
        fixtures.add(f);
    }

    @Test
    void everyDispatchedMessage_butTheAllowlistedOnes_needsAnApprover_andTheApproverPasses() throws Exception {
        startDaemon();
        Map<String, Message> dispatched = new TreeMap<>();
        for (String type : candidateTypes()) {
            Message reply = asRequester(type);
            if (!(reply.type().equals("error") && reply.string("message", "").startsWith("unknown message type"))) {
                dispatched.put(type, reply);
            }
        }
        assertTrue(dispatched.keySet().containsAll(SURELY_APPROVER_ONLY),
                "the walk missed messages the daemon handles (" + SURELY_APPROVER_ONLY + "), found only "
                        + dispatched.keySet() + ": the dispatch moved where the walk does not look");
        Set<String> stale = new TreeSet<>(REQUESTER_MAY.keySet());
        stale.removeAll(dispatched.keySet());
        assertEquals(Set.of(), stale, "allowlisted messages the daemon no longer handles: take them off the list");

        List<String> open = new ArrayList<>();
        for (Map.Entry<String, Message> e : dispatched.entrySet()) {
            if (!REQUESTER_MAY.containsKey(e.getKey()) && !isNotApprover(e.getValue())) {
                open.add(e.getKey() + " -> " + e.getValue().asMap());
            }
        }
        assertEquals(List.of(), open, "messages a requester may send without being an approver: check the role"
                + " first in their handler, or add them to REQUESTER_MAY with the reason");

        // the control: the refusals come from the role, so each such message passes an approver's
        // check (on a fresh daemon: the walk locked or stopped the first)
        startDaemon();
        for (String type : dispatched.keySet()) {
            if (!REQUESTER_MAY.containsKey(type)) {
                Message reply = asApprover(type);
                assertTrue(!isNotApprover(reply), type + " refused an approver too: " + reply.asMap());
            }
        }
    }

    private static boolean isNotApprover(Message reply) throws Exception {
        return reply.type().equals("error") && ErrorCode.NOT_APPROVER.wire().equals(reply.string("code", ""));
    }

    /**
     * The first reply to a bare {@code {"type": TYPE}} (then an empty secret frame, for handlers that
     * read one) on a fresh requester connection. A message that answers nothing (cancel without a
     * run) gets the secret frame's own error instead, which is not "unknown message type" either. A
     * daemon that a probe stopped ('stop') is replaced and the probe tried again.
     */
    private Message asRequester(String type) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try (BrokerClient c = f.connect()) {
                c.sendWithSecret(Message.of(type), new byte[0]);
                Frame reply = firstReply(c, type);
                if (reply != null) {
                    return Message.parse(reply.payload());
                }
            } catch (dev.brokerctl.protocol.BrokerException e) {
                if (attempt > 0) {
                    throw new AssertionError("probe '" + type + "' failed on a fresh daemon: " + e.getMessage(), e);
                }
            }
            if (attempt > 0) {
                fail("a fresh daemon closed the connection without answering '" + type + "'");
            }
            startDaemon();
        }
    }

    private Message asApprover(String type) throws Exception {
        try (BrokerClient c = f.approver()) {
            c.sendWithSecret(Message.of(type), new byte[0]);
            Frame reply = firstReply(c, type);
            assertNotEquals(null, reply, "the daemon closed an approver's connection on '" + type + "'");
            return Message.parse(reply.payload());
        }
    }

    /** Fails, rather than hangs, when nothing comes back within {@link #REPLY_WAIT}. */
    private static Frame firstReply(BrokerClient c, String type) throws Exception {
        CompletableFuture<Frame> reply = CompletableFuture.supplyAsync(() -> {
            try {
                return c.receive();
            } catch (dev.brokerctl.protocol.BrokerException e) {
                return null;
            }
        });
        try {
            Frame fr = reply.get(REPLY_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertTrue(fr == null || fr.kind() == Frame.JSON, "a JSON reply to '" + type + "', not " + fr);
            return fr;
        } catch (TimeoutException e) {
            c.close();
            throw new AssertionError("no reply to '" + type + "' within " + REPLY_WAIT.toSeconds() + "s");
        } catch (ExecutionException e) {
            throw new AssertionError(e.getCause());
        }
    }

    /**
     * Every string constant of the daemon's classes that could be a message type: lower case,
     * digits and '_'. Read from the class files' constant pools, where a {@code case "decide"} or a
     * handler map's key lives whatever shape the dispatch takes.
     */
    static Set<String> candidateTypes() throws IOException, URISyntaxException {
        Path classes = Path.of(Connection.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Set<String> out = new TreeSet<>();
        try (Stream<Path> files = Files.walk(classes.resolve("dev/brokerctl/daemon"))) {
            for (Path p : files.filter(q -> q.toString().endsWith(".class")).toList()) {
                try (InputStream in = Files.newInputStream(p)) {
                    for (String s : stringConstants(new DataInputStream(in))) {
                        if (s.matches("[a-z][a-z0-9_]{1,39}")) {
                            out.add(s);
                        }
                    }
                }
            }
        }
        assertTrue(out.size() > 20, "string constants found in " + classes + ": " + out);
        return out;
    }

    /** The {@code CONSTANT_String} values of one class file (JVMS 4.4). */
    static List<String> stringConstants(DataInputStream in) throws IOException {
        if (in.readInt() != 0xCAFEBABE) {
            throw new IOException("not a class file");
        }
        in.readUnsignedShort();
        in.readUnsignedShort();
        int count = in.readUnsignedShort();
        String[] utf8 = new String[count];
        List<Integer> strings = new ArrayList<>();
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> utf8[i] = in.readUTF();
                case 8 -> strings.add(in.readUnsignedShort());
                case 7, 16, 19, 20 -> in.skipNBytes(2);
                case 15 -> in.skipNBytes(3);
                case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipNBytes(4);
                case 5, 6 -> {
                    in.skipNBytes(8);
                    i++;
                }
                default -> throw new IOException("unknown constant pool tag " + tag);
            }
        }
        List<String> out = new ArrayList<>();
        for (int index : strings) {
            out.add(utf8[index]);
        }
        return out;
    }

    @Test
    void theConstantPoolWalk_findsTheSwitchLabelsOfThisTestsOwnClass() throws Exception {
        Path self = Path.of(ProtocolAllowlistTest.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve(ProtocolAllowlistTest.class.getName().replace('.', '/') + ".class");
        try (InputStream in = Files.newInputStream(self)) {
            List<String> found = stringConstants(new DataInputStream(in));
            assertTrue(found.contains("hello") && found.contains("request_variable"), found.toString());
            assertTrue(found.stream().allMatch(s -> s.getBytes(StandardCharsets.UTF_8).length < 1000));
        }
    }
}

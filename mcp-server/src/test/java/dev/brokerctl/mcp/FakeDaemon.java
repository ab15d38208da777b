package dev.brokerctl.mcp;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ChannelStreams;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A daemon that speaks the wire protocol with scripted answers, so the MCP server's side of a run
 * can be tested without a vault. The run's argv[0] picks the script.
 */
final class FakeDaemon implements AutoCloseable {

    private final Path socket;
    private final ServerSocketChannel server;
    private final List<SocketChannel> connections = new CopyOnWriteArrayList<>();
    final LinkedBlockingQueue<Message> received = new LinkedBlockingQueue<>();
    volatile boolean locked;
    /**
     * Sent along with the variable listing, as a daemon that broke the rule would: the MCP server
     * must pass names and metadata only, so this never reaches the agent.
     */
    static final String VALUE = "fake-daemon-sent-a-value-5c2e81";
    /** Released to let a {@code request_variable} be answered. */
    final CountDownLatch provideVariable = new CountDownLatch(1);

    FakeDaemon(Path socket) throws IOException {
        this.socket = socket;
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread t = new Thread(this::accept, "fake-daemon");
        t.setDaemon(true);
        t.start();
    }

    private void accept() {
        try {
            while (true) {
                SocketChannel ch = server.accept();
                connections.add(ch);
                Thread t = new Thread(() -> serve(ch), "fake-daemon-connection");
                t.setDaemon(true);
                t.start();
            }
        } catch (IOException e) {
            // closed
        }
    }

    private void serve(SocketChannel ch) {
        DataInputStream in = new DataInputStream(new BufferedInputStream(ChannelStreams.in(ch)));
        OutputStream out = ChannelStreams.out(ch);
        try {
            Frame f;
            while ((f = Frame.read(in)) != null) {
                Message m = Message.parse(f.payload());
                received.add(m);
                switch (m.type()) {
                    case "hello" -> send(out, Message.of("hello").with("protocol", dev.brokerctl.protocol.BrokerClient.PROTOCOL_VERSION).with("pid", 1).with("locked", locked));
                    case "status" -> send(out, Message.of("status").with("pid", 1).with("locked", locked)
                            .with("socket", socket.toString()).with("uptime_ms", 5).with("pending", 2).with("running", 0));
                    case "list_environments" -> {
                        if (locked) {
                            send(out, error("locked", "the vault is locked"));
                        } else {
                            send(out, Message.of("environments").with("environments",
                                    List.of(Map.of("name", "dev", "policy", "auto", "variable_count", 2)))
                                    .with("damaged", List.of()));
                        }
                    }
                    case "list_variables" -> {
                        if (!"dev".equals(m.string("environment"))) {
                            send(out, error("not_found", "environment '" + m.string("environment") + "' does not exist"));
                        } else {
                            send(out, Message.of("variables").with("environment", "dev").with("variables",
                                    List.of(Map.of("name", "API_KEY", "description", "the key",
                                            "updated_at", "2026-01-01T00:00:00Z", "value", VALUE))).with("damaged", List.of()));
                        }
                    }
                    case "run" -> startRun(m, out);
                    case "run_get" -> runGet(m, out);
                    case "run_stop" -> {
                        stops.add(m.string("handle"));
                        FakeRun r = runs.get(m.string("handle"));
                        if (r == null) {
                            send(out, error("not_found", "no run with that handle"));
                        } else {
                            boolean was = r.settled();
                            r.stop();
                            send(out, r.state().with("was_settled", was));
                        }
                    }
                    case "request_variable" -> requestVariable(m, out);
                    default -> send(out, error("bad_request", "unknown message type '" + m.type() + "'"));
                }
            }
        } catch (IOException | BrokerException e) {
            // connection over
        }
    }

    /** A detached run with a scripted course, by its argv[0]. */
    final class FakeRun {
        final long id;
        final String handle;
        final String program;
        private String status = "pending_approval";
        private Long exit;
        private String stdout = "";
        private String stderr = "";
        private String errorCode = "";
        private String detail = "";

        FakeRun(long id, String program) {
            this.id = id;
            this.handle = "r_" + "a".repeat(24) + (char) ('a' + id / 26 % 26) + (char) ('a' + id % 26);
            this.program = program;
            switch (program) {
                case "echo-ok" -> {
                    status = "completed";
                    exit = 0L;
                    stdout = "hello [MASKED:API_KEY]\n";
                    stderr = "a warning\n";
                }
                case "missing" -> {
                    status = "failed_to_start";
                    errorCode = "command_not_found";
                    detail = "missing: command not found in PATH";
                }
                case "approval-times-out" -> {
                    status = "approval_timed_out";
                    detail = "no approval within 0s";
                }
                case "wait-approval" -> status = "pending_approval";
                case "long" -> {
                    status = "running";
                    stdout = "working\n";
                }
                default -> {
                    status = "failed_to_start";
                    errorCode = "internal";
                    detail = "no script for " + program;
                }
            }
        }

        synchronized boolean settled() {
            return !status.equals("pending_approval") && !status.equals("running");
        }

        synchronized void stop() {
            if (settled()) {
                return;
            }
            if (status.equals("running")) {
                exit = 137L;
            }
            status = "stopped";
            notifyAll();
        }

        synchronized void await(long ms) throws InterruptedException {
            long deadline = System.currentTimeMillis() + ms;
            while (!settled() && System.currentTimeMillis() < deadline) {
                wait(Math.max(1, deadline - System.currentTimeMillis()));
            }
        }

        synchronized Message state() {
            Message m = Message.of("run_state").with("handle", handle).with("run_id", id).with("status", status)
                    .with("exit_code", exit).with("duration_ms", status.equals("pending_approval") ? null : 12L)
                    .with("masked_count", exit == null ? null : 1L).with("unmasked", List.of())
                    .with("approval_timeout_ms", 120_000L).with("timeout_ms", 0L).with("error_code", errorCode)
                    .with("detail", detail);
            m.with("stdout", page(stdout)).with("stderr", page(stderr));
            return m;
        }

        private Map<String, Object> page(String text) {
            long n = text.getBytes(StandardCharsets.UTF_8).length;
            return Map.of("text", text, "offset", 0L, "next_offset", n, "total_bytes", n, "truncated", false,
                    "skipped_bytes", 0L);
        }
    }

    final Map<String, FakeRun> runs = new java.util.concurrent.ConcurrentHashMap<>();
    final LinkedBlockingQueue<String> stops = new LinkedBlockingQueue<>();
    private final java.util.concurrent.atomic.AtomicLong runIds = new java.util.concurrent.atomic.AtomicLong(6);

    private void startRun(Message m, OutputStream out) throws IOException, BrokerException {
        FakeRun r = new FakeRun(runIds.incrementAndGet(), m.strings("argv").get(0));
        runs.put(r.handle, r);
        send(out, Message.of("detached").with("run_id", r.id).with("handle", r.handle));
    }

    private void runGet(Message m, OutputStream out) throws IOException, BrokerException {
        FakeRun r = runs.get(m.string("handle"));
        if (r == null) {
            send(out, error("not_found", "no run with that handle"));
            return;
        }
        try {
            r.await(m.number("wait_ms", 0));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        send(out, r.state());
    }

    private void requestVariable(Message m, OutputStream out) throws IOException {
        Thread t = new Thread(() -> {
            try {
                if ("EXISTS".equals(m.string("name"))) {
                    send(out, error("conflict", "variable EXISTS already exists in environment 'dev'"));
                    return;
                }
                send(out, Message.of("pending_variable").with("request_id", 21).with("timeout_ms", 120_000));
                provideVariable.await(30, TimeUnit.SECONDS);
                send(out, Message.of("variable_provided").with("request_id", 21));
            } catch (IOException | BrokerException | InterruptedException e) {
                // the client went away
            }
        }, "fake-variable");
        t.setDaemon(true);
        t.start();
    }

    private static Message error(String code, String message) {
        return Message.of("error").with("code", code).with("message", message);
    }

    private static void send(OutputStream out, Message m) throws IOException {
        byte[] json = m.toJson();
        synchronized (out) {
            Frame.write(out, Frame.JSON, json, 0, json.length);
            out.flush();
        }
    }

    private static void data(OutputStream out, byte kind, byte[] b) throws IOException {
        synchronized (out) {
            Frame.write(out, kind, b, 0, b.length);
            out.flush();
        }
    }

    /** The next message of this type the daemon received. */
    Message next(String type) throws InterruptedException {
        while (true) {
            Message m = received.poll(20, TimeUnit.SECONDS);
            if (m == null) {
                throw new AssertionError("the fake daemon received no '" + type + "'");
            }
            if (m.type().equals(type)) {
                return m;
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (SocketChannel c : connections) {
            c.close();
        }
        Files.deleteIfExists(socket);
    }
}

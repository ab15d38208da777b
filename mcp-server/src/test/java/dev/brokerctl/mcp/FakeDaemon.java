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
    final LinkedBlockingQueue<String> cancels = new LinkedBlockingQueue<>();
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
        LinkedBlockingQueue<Message> later = new LinkedBlockingQueue<>();
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
                    case "run" -> startRun(m, out, later);
                    case "cancel" -> {
                        cancels.add("cancel");
                        later.add(m);
                    }
                    case "request_variable" -> requestVariable(m, out);
                    default -> send(out, error("bad_request", "unknown message type '" + m.type() + "'"));
                }
            }
        } catch (IOException | BrokerException e) {
            // connection over
        }
    }

    private void startRun(Message m, OutputStream out, LinkedBlockingQueue<Message> later)
            throws IOException, BrokerException {
        String program = m.strings("argv").get(0);
        Thread t = new Thread(() -> {
            try {
                script(program, out, later);
            } catch (IOException | InterruptedException e) {
                // the client went away
            }
        }, "fake-run");
        t.setDaemon(true);
        t.start();
    }

    private void script(String program, OutputStream out, LinkedBlockingQueue<Message> later)
            throws IOException, InterruptedException {
        switch (program) {
            case "echo-ok" -> {
                send(out, Message.of("started").with("run_id", 7).with("pid", 99).with("unmasked", List.of())
                        .with("masking", true));
                data(out, Frame.STDOUT, "hello [MASKED:API_KEY]\n".getBytes(StandardCharsets.UTF_8));
                data(out, Frame.STDERR, "a warning\n".getBytes(StandardCharsets.UTF_8));
                send(out, Message.of("exit").with("run_id", 7).with("exit_code", 0).with("duration_ms", 12)
                        .with("masked_count", 1).with("timed_out", false).with("cancelled", false));
            }
            case "big" -> {
                send(out, Message.of("started").with("run_id", 11).with("pid", 99).with("masking", true));
                byte[] chunk = new byte[Frame.MAX_DATA_CHUNK];
                for (int i = 0; i < 4; i++) {
                    java.util.Arrays.fill(chunk, (byte) ('a' + i));
                    data(out, Frame.STDOUT, chunk);
                }
                send(out, Message.of("exit").with("run_id", 11).with("exit_code", 3).with("duration_ms", 5)
                        .with("masked_count", 0).with("timed_out", false).with("cancelled", false));
            }
            case "wait-approval" -> {
                send(out, Message.of("pending").with("run_id", 8).with("timeout_ms", 120_000));
                later.poll(30, TimeUnit.SECONDS);   // the cancel
                send(out, Message.of("denied").with("run_id", 8).with("reason", "cancelled")
                        .with("message", "cancelled by the requester"));
            }
            case "long" -> {
                send(out, Message.of("started").with("run_id", 9).with("pid", 99).with("masking", true));
                data(out, Frame.STDOUT, "working\n".getBytes(StandardCharsets.UTF_8));
                later.poll(30, TimeUnit.SECONDS);   // the cancel
                send(out, Message.of("exit").with("run_id", 9).with("exit_code", 137).with("signal", 9)
                        .with("duration_ms", 40).with("masked_count", 0).with("timed_out", false)
                        .with("cancelled", true));
            }
            case "approval-times-out" -> {
                send(out, Message.of("pending").with("run_id", 12).with("timeout_ms", 100));
                send(out, Message.of("denied").with("run_id", 12).with("reason", "timed_out")
                        .with("message", "no approval within 0s"));
            }
            case "missing" -> send(out, error("command_not_found", "missing: command not found in PATH"));
            default -> send(out, error("internal", "no script for " + program));
        }
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

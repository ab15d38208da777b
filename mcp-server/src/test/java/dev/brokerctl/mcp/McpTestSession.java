package dev.brokerctl.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import dev.brokerctl.protocol.BrokerPaths;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.channels.Channels;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import tools.jackson.databind.json.JsonMapper;

/**
 * A real MCP session with {@link BrokerMcpServer#serve} over pipes, driven as a client would: JSON
 * lines in, JSON lines out. Every line the server writes must parse as one JSON object.
 */
final class McpTestSession implements AutoCloseable {

    static final JsonMapper JSON = JsonMapper.builder().build();
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    private final OutputStream toServer;
    private final LinkedBlockingQueue<Object> fromServer = new LinkedBlockingQueue<>();
    private final List<Map<String, Object>> notifications = new ArrayList<>();
    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private final Thread server;
    private final AtomicInteger exit = new AtomicInteger(-1);
    private final AtomicInteger ids = new AtomicInteger(100);

    private McpTestSession(BrokerPaths paths, Map<String, String> env, Duration progressInterval) throws IOException {
        Pipe in = Pipe.open();
        Pipe out = Pipe.open();
        this.toServer = Channels.newOutputStream(in.sink());
        InputStream serverIn = Channels.newInputStream(in.source());
        OutputStream serverOut = Channels.newOutputStream(out.sink());
        PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);
        server = new Thread(() -> {
            exit.set(BrokerMcpServer.serve(serverIn, serverOut, log, paths, env, progressInterval));
            try {
                serverOut.close();
            } catch (IOException ignored) {
                // test ends
            }
        }, "test-mcp-server");
        server.start();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(Channels.newInputStream(out.source()),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    fromServer.add(line);
                }
            } catch (IOException ignored) {
                // closed
            }
            fromServer.add(EOF);
        }, "test-mcp-reader");
        reader.setDaemon(true);
        reader.start();
    }

    private static final Object EOF = new Object();

    static McpTestSession start(Path socket) throws IOException {
        return start(socket, Map.of("PATH", "/usr/bin:/bin", "BROKERCTL_HOME", "/nonexistent"),
                Duration.ofSeconds(5));
    }

    static McpTestSession start(Path socket, Map<String, String> env, Duration progressInterval) throws IOException {
        return new McpTestSession(BrokerPaths.fromEnvironment().withSocket(socket), env, progressInterval);
    }

    void sendLine(String line) throws IOException {
        toServer.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        toServer.flush();
    }

    void sendRaw(byte[] bytes) throws IOException {
        toServer.write(bytes);
        toServer.flush();
    }

    void send(Map<String, Object> message) throws IOException {
        sendLine(JSON.writeValueAsString(message));
    }

    /** The next message from the server, or null when none came in time. */
    @SuppressWarnings("unchecked")
    Map<String, Object> next(Duration timeout) throws InterruptedException {
        Object line = fromServer.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (line == null || line == EOF) {
            if (line == EOF) {
                fromServer.add(EOF);
            }
            return null;
        }
        Object parsed = JSON.readValue((String) line, Object.class);
        if (!(parsed instanceof Map)) {
            fail("the server wrote a line that is not a JSON object: " + line);
        }
        return (Map<String, Object>) parsed;
    }

    Map<String, Object> next() throws InterruptedException {
        Map<String, Object> m = next(TIMEOUT);
        assertNotNull(m, "no message from the server within " + TIMEOUT + "; log:\n" + log());
        return m;
    }

    /** Sends a request and returns its response; notifications that come first are kept. */
    Map<String, Object> request(String method, Map<String, Object> params) throws Exception {
        int id = ids.incrementAndGet();
        send(requestMessage(id, method, params));
        return responseTo(id);
    }

    static Map<String, Object> requestMessage(Object id, String method, Map<String, Object> params) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("jsonrpc", "2.0");
        m.put("id", id);
        m.put("method", method);
        if (params != null) {
            m.put("params", params);
        }
        return m;
    }

    Map<String, Object> responseTo(Object id) throws Exception {
        while (true) {
            Map<String, Object> m = next();
            if (m.containsKey("method") && !m.containsKey("id")) {
                synchronized (notifications) {
                    notifications.add(m);
                }
                continue;
            }
            assertEquals(id, m.get("id"), "response to another request: " + m);
            return m;
        }
    }

    List<Map<String, Object>> notifications() {
        synchronized (notifications) {
            return List.copyOf(notifications);
        }
    }

    void notify(String method, Map<String, Object> params) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("jsonrpc", "2.0");
        m.put("method", method);
        if (params != null) {
            m.put("params", params);
        }
        send(m);
    }

    /** initialize + notifications/initialized; returns the initialize result. */
    @SuppressWarnings("unchecked")
    Map<String, Object> initialize(String protocolVersion) throws Exception {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("protocolVersion", protocolVersion);
        params.put("capabilities", Map.of());
        params.put("clientInfo", Map.of("name", "test-agent", "version", "1.0"));
        Map<String, Object> reply = request("initialize", params);
        assertNotNull(reply.get("result"), "initialize failed: " + reply);
        notify("notifications/initialized", null);
        return (Map<String, Object>) reply.get("result");
    }

    Map<String, Object> initialize() throws Exception {
        return initialize("2025-06-18");
    }

    /** tools/call; returns the call's result (fails on a JSON-RPC error). */
    @SuppressWarnings("unchecked")
    Map<String, Object> callTool(String name, Map<String, Object> arguments) throws Exception {
        return callTool(name, arguments, null);
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> callTool(String name, Map<String, Object> arguments, Object progressToken) throws Exception {
        Map<String, Object> reply = request("tools/call", callParams(name, arguments, progressToken));
        assertNotNull(reply.get("result"), "tools/call " + name + " failed at the JSON-RPC level: " + reply);
        return (Map<String, Object>) reply.get("result");
    }

    static Map<String, Object> callParams(String name, Map<String, Object> arguments, Object progressToken) {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("name", name);
        params.put("arguments", arguments);
        if (progressToken != null) {
            params.put("_meta", Map.of("progressToken", progressToken));
        }
        return params;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> structured(Map<String, Object> result) {
        Object s = result.get("structuredContent");
        assertNotNull(s, "no structuredContent in " + result);
        return (Map<String, Object>) s;
    }

    @SuppressWarnings("unchecked")
    static String text(Map<String, Object> result) {
        List<Map<String, Object>> content = (List<Map<String, Object>>) result.get("content");
        assertNotNull(content, "no content in " + result);
        StringBuilder b = new StringBuilder();
        for (Map<String, Object> c : content) {
            assertEquals("text", c.get("type"));
            b.append(c.get("text"));
        }
        return b.toString();
    }

    static boolean isError(Map<String, Object> result) {
        return Boolean.TRUE.equals(result.get("isError"));
    }

    String log() {
        synchronized (logBytes) {
            return logBytes.toString(StandardCharsets.UTF_8);
        }
    }

    /** Ends stdin and waits for serve to return; returns its exit code. */
    int finish() throws Exception {
        toServer.close();
        server.join(TIMEOUT.toMillis());
        if (server.isAlive()) {
            fail("serve did not return after stdin closed; log:\n" + log());
        }
        return exit.get();
    }

    @Override
    public void close() throws Exception {
        if (server.isAlive()) {
            finish();
        }
    }
}

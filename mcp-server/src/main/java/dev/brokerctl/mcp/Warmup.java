package dev.brokerctl.mcp;

import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Warms this server's own request path on a background thread, so that the first calls of a
 * session do not pay for it: Jackson builds its (de)serializers for the SDK's types once per
 * mapper, and the JVM interprets code until it has run often enough to compile it. It parses,
 * converts and serializes sample messages with the session's mapper, checks sample arguments and
 * builds a sample run result (see {@link BrokerTools#warmUp()}). It never connects to the daemon,
 * never runs a command and touches no vault; what it produces is thrown away.
 *
 * <p>One pass starts at once, in parallel with building the server: it makes the serializers
 * initialize and tools/list need anyway. More passes (for the JIT) wait until {@link #listed()}
 * says the client has its tool list, or {@link #LATER_MS} passed, so they do not compete with
 * the start-up, and run at the lowest priority.
 */
final class Warmup implements Runnable {

    static final int PASSES = 300;
    static final long LATER_MS = 2000;

    private static final TypeRef<Object> ANY = new TypeRef<>() { };
    private static final byte[] INITIALIZE = ("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
            + "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"warm-up\","
            + "\"version\":\"1\"}}}").getBytes(StandardCharsets.UTF_8);
    private static final byte[] CALL = ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
            + "{\"name\":\"run_command\",\"arguments\":{\"environment\":\"dev\",\"command\":[\"true\"],"
            + "\"variables\":[],\"reason\":\"warm-up\"},\"_meta\":{\"progressToken\":1}}}")
            .getBytes(StandardCharsets.UTF_8);

    private final McpJsonMapper json;
    private final BrokerTools tools;
    private final McpLog log;
    private final java.util.concurrent.CountDownLatch listed = new java.util.concurrent.CountDownLatch(1);
    private final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
    private volatile boolean stop;

    Warmup(McpJsonMapper json, BrokerTools tools, McpLog log) {
        this.json = json;
        this.tools = tools;
        this.log = log;
    }

    /** Starts it on a daemon thread. */
    Warmup start() {
        Thread t = new Thread(this, "mcp-warm-up");
        t.setDaemon(true);
        t.start();
        return this;
    }

    /** The client has its tool list: the start-up is over. */
    void listed() {
        listed.countDown();
    }

    /** Stops after the pass in progress (the session ends). */
    void stop() {
        stop = true;
        listed.countDown();
    }

    /** Waits until it finished or stopped; for tests. */
    boolean awaitDone(long ms) throws InterruptedException {
        return done.await(ms, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @Override
    public void run() {
        long t0 = System.nanoTime();
        int passes = 0;
        try {
            pass();
            passes++;
            Trace.mark("warm-up-first-pass");
            listed.await(LATER_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
            Thread.currentThread().setPriority(Thread.MIN_PRIORITY);
            while (!stop && passes < PASSES) {
                pass();
                passes++;
            }
            Trace.mark("warm-up-done");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception | LinkageError e) {
            // warming is an optimisation: the session goes on without it
            log.debug("warm-up stopped: " + e);
        } finally {
            log.debug("warm-up: " + passes + " passes in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            done.countDown();
        }
    }

    /** One round of what initialize, tools/list and a run_command do in this server. */
    private void pass() throws Exception {
        Object init = json.readValue(INITIALIZE, ANY);
        McpSchema.JSONRPCRequest request = json.convertValue(init, McpSchema.JSONRPCRequest.class);
        McpSchema.InitializeRequest ir = json.convertValue(request.params(), McpSchema.InitializeRequest.class);
        McpSchema.InitializeResult result = new McpSchema.InitializeResult(ir.protocolVersion(),
                McpSchema.ServerCapabilities.builder().tools(false).build(),
                new McpSchema.Implementation("brokerctl", "warm-up"), "warm-up");
        json.writeValueAsBytes(new McpSchema.JSONRPCResponse(McpSchema.JSONRPC_VERSION, request.id(), result, null));

        List<McpSchema.Tool> list = new ArrayList<>();
        tools.specifications().forEach(s -> list.add(s.tool()));
        json.writeValueAsBytes(new McpSchema.JSONRPCResponse(McpSchema.JSONRPC_VERSION, 2,
                new McpSchema.ListToolsResult(list, null), null));

        Object call = json.readValue(CALL, ANY);
        McpSchema.JSONRPCRequest callRequest = json.convertValue(call, McpSchema.JSONRPCRequest.class);
        McpSchema.CallToolRequest ctr = json.convertValue(callRequest.params(), McpSchema.CallToolRequest.class);
        McpSchema.CallToolResult sample = tools.warmUp(ctr.arguments() == null ? Map.of() : ctr.arguments());
        json.writeValueAsBytes(new McpSchema.JSONRPCResponse(McpSchema.JSONRPC_VERSION, callRequest.id(), sample,
                null));
        json.writeValueAsBytes(new McpSchema.JSONRPCNotification(McpSchema.JSONRPC_VERSION,
                McpSchema.METHOD_NOTIFICATION_MESSAGE, new McpSchema.LoggingMessageNotification(
                        McpSchema.LoggingLevel.INFO, "brokerctl", "run 1 completed")));
    }
}

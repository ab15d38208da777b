package dev.brokerctl.mcp;

import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.JSONRPCMessage;
import io.modelcontextprotocol.spec.McpSchema.JSONRPCResponse;
import java.math.BigDecimal;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * The client's requests between arrival and answer, keyed by JSON-RPC id. The SDK (2.2.0) neither
 * handles {@code notifications/cancelled} nor tells a tool handler its request id, so the transport
 * records every request here, hands the key to the handler through the transport context, and
 * routes a cancellation to whatever the handler registered. It also edits outgoing responses:
 * a cancelled request gets none (MCP: the receiver SHOULD NOT answer it), and a {@code tools/call}
 * the SDK failed at the JSON-RPC level (unknown tool, unreadable params) becomes an
 * {@code isError} tool result, which an agent reads instead of a protocol failure it cannot act on.
 */
final class InFlightRequests {

    /** Key of the request in {@link io.modelcontextprotocol.common.McpTransportContext}. */
    static final String CONTEXT_KEY = "dev.brokerctl.mcp.request";

    private static final class Entry {
        final String method;
        final String toolName;
        volatile boolean cancelled;
        volatile Runnable onCancel;

        Entry(String method, String toolName) {
            this.method = method;
            this.toolName = toolName;
        }
    }

    /** Undoes {@link #onCancel}. */
    interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    private final Map<Object, Entry> entries = new ConcurrentHashMap<>();
    private final BiFunction<String, McpSchema.JSONRPCResponse.JSONRPCError, CallToolResult> toolErrorResult;

    /** @param toolErrorResult the tool result to send instead of a JSON-RPC error for a tool call */
    InFlightRequests(BiFunction<String, McpSchema.JSONRPCResponse.JSONRPCError, CallToolResult> toolErrorResult) {
        this.toolErrorResult = toolErrorResult;
    }

    /**
     * A map key for a JSON-RPC id: ids are strings or numbers, {@code 1} and {@code "1"} are
     * different ids, and Jackson may read the same number as Integer or Long.
     */
    static Object key(Object id) {
        if (id instanceof String s) {
            return "s:" + s;
        }
        if (id instanceof Number n) {
            return "n:" + new BigDecimal(n.toString()).stripTrailingZeros().toPlainString();
        }
        return "?:" + id;
    }

    /**
     * Records a request; false (and nothing recorded) when a request with the same id is still in
     * flight, whichever protocol revision it came in: JSON-RPC ids are unique among requests in
     * flight, and one table serves both revisions' cancellation.
     */
    boolean received(Object key, String method, String toolName) {
        return entries.putIfAbsent(key, new Entry(method, toolName)) == null;
    }

    /**
     * Registers what cancelling this request does; runs it at once when the cancellation came
     * first. Returns the handle that unregisters it.
     */
    Registration onCancel(Object key, Runnable action) {
        Entry e = key == null ? null : entries.get(key);
        if (e == null) {
            return () -> { };
        }
        e.onCancel = action;
        if (e.cancelled) {
            action.run();
        }
        return () -> e.onCancel = null;
    }

    boolean isCancelled(Object key) {
        Entry e = key == null ? null : entries.get(key);
        return e != null && e.cancelled;
    }

    /** Handles {@code notifications/cancelled}; returns whether the request was in flight. */
    boolean cancel(Object key) {
        Entry e = entries.get(key);
        if (e == null) {
            return false;
        }
        e.cancelled = true;
        Runnable action = e.onCancel;
        if (action != null) {
            action.run();
        }
        return true;
    }

    /** The method of an in-flight request, for logging. */
    String method(Object key) {
        Entry e = entries.get(key);
        return e == null ? null : e.method;
    }

    /**
     * What to send instead of {@code m}: m itself, a rewritten response, or null for nothing. The
     * request stays in flight until {@link #sent} says its answer was written, so
     * {@link #awaitIdle} does not return (and the process exit) between the two.
     */
    JSONRPCMessage outgoing(JSONRPCMessage m) {
        if (!(m instanceof JSONRPCResponse r) || r.id() == null) {
            return m;
        }
        Entry e = entries.get(key(r.id()));
        if (e == null) {
            return m;
        }
        if (e.cancelled) {
            return null;
        }
        if (r.error() != null && McpSchema.METHOD_TOOLS_CALL.equals(e.method) && toolLevel(r.error())) {
            return new JSONRPCResponse(McpSchema.JSONRPC_VERSION, r.id(),
                    toolErrorResult.apply(e.toolName, r.error()), null);
        }
        return m;
    }

    /** The answer to {@code m} (as given to {@link #outgoing}) was written, or will never be. */
    void sent(JSONRPCMessage m) {
        if (m instanceof JSONRPCResponse r && r.id() != null) {
            answered(key(r.id()));
        }
    }

    /** The request {@code key} was answered, or never will be. */
    void answered(Object key) {
        entries.remove(key);
    }

    /** Errors about the call itself; "not initialized" and the like stay protocol errors. */
    private static boolean toolLevel(JSONRPCResponse.JSONRPCError error) {
        int code = error.code() == null ? 0 : error.code();
        return code == McpSchema.ErrorCodes.INVALID_PARAMS || code == McpSchema.ErrorCodes.INTERNAL_ERROR;
    }

    int size() {
        return entries.size();
    }

    /** Waits until every request has been answered, or {@code max} passes. */
    void awaitIdle(java.time.Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!entries.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
    }
}

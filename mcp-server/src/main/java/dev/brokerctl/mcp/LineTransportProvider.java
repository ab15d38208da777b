package dev.brokerctl.mcp;

import io.modelcontextprotocol.common.McpTransportContext;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.modern.JsonRpc;
import io.modelcontextprotocol.modern.server.McpRequestManager;
import io.modelcontextprotocol.modern.server.McpTransportResponse;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.JSONRPCMessage;
import io.modelcontextprotocol.spec.McpServerSession;
import io.modelcontextprotocol.spec.McpServerTransport;
import io.modelcontextprotocol.spec.McpServerTransportProvider;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.context.Context;

/**
 * MCP's stdio transport: one JSON-RPC message per line, UTF-8, over the given streams. Unlike the
 * SDK's {@code StdioServerTransportProvider}, a bad line does not end the session: a line that is
 * not JSON gets a -32700 error, JSON that is not a JSON-RPC message gets -32600, and a line over
 * {@link #MAX_LINE_BYTES} is skipped without being buffered (-32600). Outgoing messages are written
 * one per line, flushed, one writer at a time.
 *
 * <p>{@link #serve()} reads on the calling thread until the input ends. Requests are dispatched to
 * the session as they arrive; the SDK runs tool calls on its own threads, so a long call does not
 * hold up the next line (a cancellation in particular).
 *
 * <p>Two revisions of MCP share the line: a request that is {@code server/discover} or has an
 * {@code io.modelcontextprotocol/} key in its {@code _meta} (the protocol version, the client's
 * capabilities) is a 2026-07-28 request and goes to the stateless {@link McpRequestManager} (see {@link ModernServer});
 * everything else goes to the 2025-11-25 session, which begins with {@code initialize}.
 * Cancellation, the in-flight bookkeeping and the writer are the same for both.
 */
final class LineTransportProvider implements McpServerTransportProvider {

    /** Longest accepted line, newline excluded. */
    static final int MAX_LINE_BYTES = 1024 * 1024;

    private static final TypeRef<Object> ANY = new TypeRef<>() { };

    private final McpJsonMapper json;
    private final InputStream in;
    private final OutputStream out;
    private final InFlightRequests inFlight;
    private final McpLog log;
    private final Object writeLock = new Object();
    private final AtomicBoolean outputBroken = new AtomicBoolean();
    private volatile McpServerSession session;
    private volatile java.util.function.Supplier<McpRequestManager> modernFactory;
    private volatile String serverVersion;
    /** Built at the first 2026-07-28 request, so that a 2025-11-25 session never loads it. */
    private McpRequestManager modern;

    LineTransportProvider(McpJsonMapper json, InputStream in, OutputStream out, InFlightRequests inFlight,
            McpLog log) {
        this.json = json;
        this.in = in;
        // one write(2) per message even when the caller hands us an unbuffered FileOutputStream
        this.out = new BufferedOutputStream(out, 64 * 1024);
        this.inFlight = inFlight;
        this.log = log;
    }

    @Override
    public void setSessionFactory(McpServerSession.Factory sessionFactory) {
        this.session = sessionFactory.create(new Transport());
    }

    /** Serves 2026-07-28 requests with what {@code factory} builds; without one they go to the session. */
    void modern(java.util.function.Supplier<McpRequestManager> factory, String version) {
        this.modernFactory = factory;
        this.serverVersion = version;
    }

    @Override
    public Mono<Void> notifyClients(String method, Object params) {
        McpServerSession s = session;
        return s == null ? Mono.empty() : s.sendNotification(method, params);
    }

    @Override
    public Mono<Void> closeGracefully() {
        return Mono.empty();
    }

    // ------------------------------------------------------------------ reading

    /** Reads and dispatches lines until the input ends or fails. */
    void serve() {
        if (session == null) {
            throw new IllegalStateException("no MCP session: build the server with this provider first");
        }
        byte[] buf = new byte[64 * 1024];
        ByteArrayOutputStream line = new ByteArrayOutputStream(8 * 1024);
        long skipping = -1;   // >= 0 while discarding an oversized line: its bytes so far
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                int start = 0;
                for (int i = 0; i < n; i++) {
                    if (buf[i] != '\n') {
                        continue;
                    }
                    int len = i - start;
                    if (skipping < 0 && line.size() + len > MAX_LINE_BYTES) {
                        skipping = line.size();
                    }
                    if (skipping >= 0) {
                        refuseOversized(skipping + len);
                        skipping = -1;
                    } else {
                        line.write(buf, start, len);
                        handleLine(line.toByteArray());
                    }
                    if (line.size() > 64 * 1024) {
                        line = new ByteArrayOutputStream(8 * 1024);   // do not keep a 1 MiB buffer
                    } else {
                        line.reset();
                    }
                    start = i + 1;
                }
                int rest = n - start;
                if (skipping < 0 && line.size() + rest > MAX_LINE_BYTES) {
                    skipping = line.size();
                    line = new ByteArrayOutputStream(8 * 1024);
                }
                if (skipping >= 0) {
                    skipping += rest;
                } else {
                    line.write(buf, start, rest);
                }
            }
            if (skipping >= 0) {
                refuseOversized(skipping);
            } else if (line.size() > 0) {
                handleLine(line.toByteArray());   // a last line without its newline
            }
        } catch (IOException e) {
            log.info("reading stdin failed (" + e.getMessage() + "); ending the MCP session");
        }
    }

    private void refuseOversized(long bytes) {
        log.warn("refused an input line of " + bytes + " bytes (limit " + MAX_LINE_BYTES + ")");
        writeError(null, McpSchema.ErrorCodes.INVALID_REQUEST, "Invalid Request: a message of " + bytes
                + " bytes is longer than the limit of " + MAX_LINE_BYTES + " bytes; it was ignored");
    }

    private void handleLine(byte[] bytes) {
        Trace.mark("line-read");
        int len = bytes.length;
        while (len > 0 && (bytes[len - 1] == '\r' || bytes[len - 1] == ' ' || bytes[len - 1] == '\t')) {
            len--;
        }
        if (len == 0) {
            return;
        }
        byte[] text = len == bytes.length ? bytes : java.util.Arrays.copyOf(bytes, len);
        Object parsed;
        try {
            parsed = json.readValue(text, ANY);
        } catch (IOException | RuntimeException e) {
            writeError(null, McpSchema.ErrorCodes.PARSE_ERROR, "Parse error: " + parseProblem(e));
            return;
        }
        JSONRPCMessage message;
        try {
            message = toMessage(parsed);
        } catch (InvalidMessage e) {
            writeError(e.id, McpSchema.ErrorCodes.INVALID_REQUEST, "Invalid Request: " + e.getMessage());
            return;
        }
        Trace.mark("line-parsed");
        try {
            dispatch(message);
        } catch (RuntimeException e) {
            // one message the SDK choked on must not end the session
            log.warn("dispatching a message failed: " + e);
            if (message instanceof McpSchema.JSONRPCRequest r) {
                writeError(r.id(), McpSchema.ErrorCodes.INTERNAL_ERROR, "Internal error: " + e.getClass().getSimpleName());
            }
        }
    }

    private static String parseProblem(Exception e) {
        Throwable t = e.getCause() != null ? e.getCause() : e;
        String m = t instanceof tools.jackson.core.JacksonException j ? j.getOriginalMessage() : t.getMessage();
        if (m == null) {
            return "the line is not valid JSON";
        }
        m = m.replaceAll("\\s+", " ").trim();
        return m.length() > 200 ? m.substring(0, 200) + "..." : m;
    }

    /** A JSON value that is not a JSON-RPC 2.0 message; {@code id} is echoed when readable. */
    private static final class InvalidMessage extends Exception {
        final Object id;

        InvalidMessage(String message, Object id) {
            super(message, null, false, false);
            this.id = id;
        }
    }

    private JSONRPCMessage toMessage(Object parsed) throws InvalidMessage {
        if (!(parsed instanceof Map<?, ?> map)) {
            throw new InvalidMessage("expected a JSON-RPC 2.0 object, got " + Schema.jsonType(parsed)
                    + (parsed instanceof java.util.List ? " (batches are not supported)" : ""), null);
        }
        Object rawId = map.get("id");
        Object id = rawId instanceof String || rawId instanceof Number ? rawId : null;
        if (!McpSchema.JSONRPC_VERSION.equals(map.get("jsonrpc"))) {
            throw new InvalidMessage("\"jsonrpc\" must be \"2.0\"", id);
        }
        Object method = map.get("method");
        if (method != null && map.containsKey("id") && id == null) {
            throw new InvalidMessage("a request's \"id\" must be a string or a number", null);
        }
        try {
            if (method != null) {
                if (!(method instanceof String)) {
                    throw new InvalidMessage("\"method\" must be a string", id);
                }
                Object params = map.get("params");
                if (params != null && !(params instanceof Map)) {
                    throw new InvalidMessage("\"params\" must be an object", id);
                }
                if (map.containsKey("id")) {
                    return json.convertValue(map, McpSchema.JSONRPCRequest.class);
                }
                return json.convertValue(map, McpSchema.JSONRPCNotification.class);
            }
            if (map.containsKey("result") || map.containsKey("error")) {
                return json.convertValue(map, McpSchema.JSONRPCResponse.class);
            }
        } catch (RuntimeException e) {
            throw new InvalidMessage("not a valid JSON-RPC message (" + parseProblem(e) + ")", id);
        }
        throw new InvalidMessage("a message needs \"method\" (a request or notification) or \"result\"/\"error\""
                + " (a response)", id);
    }

    private void dispatch(JSONRPCMessage message) {
        Context context = Context.empty();
        boolean modernRequest = message instanceof McpSchema.JSONRPCRequest r && modernFactory != null && isModern(r);
        if (!modernRequest && message instanceof McpSchema.JSONRPCRequest r && McpSchema.METHOD_PING.equals(r.method())) {
            // MCP allows a ping before initialization; the SDK (2.2.0) holds every request until
            // notifications/initialized arrives, so it would never answer that one
            writeResult(r.id(), Map.of());
            return;
        }
        if (message instanceof McpSchema.JSONRPCRequest r && McpSchema.METHOD_TOOLS_CALL.equals(r.method())
                && r.params() instanceof Map<?, ?> p && p.get("arguments") != null && !(p.get("arguments") instanceof Map)
                && (!modernRequest || servedVersion(p))) {
            // the SDK would answer with its JSON mapper's account of the type mismatch
            String tool = p.get("name") instanceof String n ? Schema.printable(n) : "the tool";
            Map<String, Object> text = new LinkedHashMap<>();
            text.put("type", "text");
            text.put("text", "the arguments of " + tool + " must be a JSON object of named arguments, e.g. {\"environment\":"
                    + " \"dev\"}, not " + Schema.jsonType(p.get("arguments")) + "; see the tool's input schema");
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("content", java.util.List.of(text));
            result.put("isError", true);
            if (modernRequest) {
                result.put("resultType", "complete");
                result.put("_meta", Map.of(io.modelcontextprotocol.modern.McpSchema.MetaKeys.SERVER_INFO,
                        Map.of("name", "brokerctl", "version", serverVersion)));
            }
            writeResult(r.id(), result);
            return;
        }
        if (modernRequest) {
            dispatchModern((McpSchema.JSONRPCRequest) message);
            return;
        }
        if (message instanceof McpSchema.JSONRPCRequest r) {
            Object key = InFlightRequests.key(r.id());
            if (!inFlight.received(key, r.method(), toolName(r))) {
                refuseDuplicate(r.id());
                return;
            }
            context = Context.of(McpTransportContext.KEY,
                    McpTransportContext.create(Map.of(InFlightRequests.CONTEXT_KEY, key)));
        } else if (message instanceof McpSchema.JSONRPCNotification n
                && "notifications/cancelled".equals(n.method())) {
            // the SDK has no handler for it; answering it here also keeps it off the SDK's log
            cancelled(n.params());
            return;
        }
        session.handle(message).contextWrite(context).subscribe(ok -> { },
                e -> log.warn("handling a message failed: " + e));
    }

    /**
     * A 2026-07-28 request: {@code server/discover}, or one with an {@code io.modelcontextprotocol/}
     * key in its {@code _meta} (a session's requests have none). One that lacks the version or the
     * capabilities gets the stateless server's error saying which, rather than waiting forever for
     * an {@code initialize} that never comes.
     */
    static boolean isModern(McpSchema.JSONRPCRequest r) {
        if (io.modelcontextprotocol.modern.McpSchema.METHOD_SERVER_DISCOVER.equals(r.method())) {
            return true;
        }
        if (r.params() instanceof Map<?, ?> p && p.get("_meta") instanceof Map<?, ?> meta) {
            for (Object key : meta.keySet()) {
                if (key instanceof String k && k.startsWith("io.modelcontextprotocol/")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether a 2026-07-28 request's {@code _meta} names the version served, with capabilities. */
    private static boolean servedVersion(Map<?, ?> params) {
        return params.get("_meta") instanceof Map<?, ?> meta
                && ModernServer.VERSION.equals(meta.get(io.modelcontextprotocol.modern.McpSchema.MetaKeys.PROTOCOL_VERSION))
                && meta.get(io.modelcontextprotocol.modern.McpSchema.MetaKeys.CLIENT_CAPABILITIES) instanceof Map;
    }

    /**
     * A request whose id is that of a request still in flight is not served: its answer, and a
     * cancellation, could not be told apart from the other's. The error has no id, for the same
     * reason.
     */
    private void refuseDuplicate(Object id) {
        log.warn("ignored a request with the id of a request still in flight: " + Schema.printable(String.valueOf(id)));
        writeError(null, McpSchema.ErrorCodes.INVALID_REQUEST, "Invalid Request: a request with id "
                + Schema.printable(String.valueOf(id)) + " is still in flight; ids must be unique among requests in"
                + " flight; it was ignored");
    }

    /**
     * Hands a 2026-07-28 request to the stateless server, off the reading thread (a tool call
     * blocks on the daemon), and writes what it answers: progress and log notifications, then
     * the response. Nothing more is written for a request the client cancelled.
     */
    private void dispatchModern(McpSchema.JSONRPCRequest r) {
        if (modern == null) {
            modern = modernFactory.get();   // dispatch runs on the one reading thread
        }
        McpRequestManager manager = modern;
        Object key = InFlightRequests.key(r.id());
        if (!inFlight.received(key, r.method(), toolName(r))) {
            refuseDuplicate(r.id());
            return;
        }
        McpTransportContext context = McpTransportContext.create(Map.of(InFlightRequests.CONTEXT_KEY, key));
        JsonRpc.JSONRPCRequest request = new JsonRpc.JSONRPCRequest(JsonRpc.JSONRPC_VERSION, r.method(), r.id(), r.params());
        // an answer is owed whatever happens: an empty reply or a failure is an internal error
        JsonRpc.JSONRPCResponse internal = JsonRpc.JSONRPCResponse.error(r.id(), new JsonRpc.JSONRPCResponse.JSONRPCError(
                McpSchema.ErrorCodes.INTERNAL_ERROR, "Internal error: the brokerctl MCP server could not answer; its"
                        + " log (stderr) says why", null));
        Mono.defer(() -> manager.handle(context, request))
                .subscribeOn(Schedulers.boundedElastic())
                .flatMapMany(LineTransportProvider::messages)
                .defaultIfEmpty(internal)
                .subscribe(m -> writeModern(key, m), e -> {
                    log.warn("handling a " + Schema.printable(r.method()) + " request failed: " + e);
                    writeModern(key, internal);
                });
    }

    private static Flux<JsonRpc.JSONRPCMessage> messages(McpTransportResponse response) {
        if (response instanceof McpTransportResponse.Streaming streaming) {
            return streaming.messages();
        }
        if (response instanceof McpTransportResponse.Result result) {
            return Flux.just(result.response());
        }
        return Flux.just(((McpTransportResponse.Error) response).response());
    }

    private void writeModern(Object key, JsonRpc.JSONRPCMessage m) {
        boolean response = m instanceof JsonRpc.JSONRPCResponse;
        try {
            if (inFlight.isCancelled(key)) {
                return;   // MCP: the receiver of a cancellation SHOULD NOT answer the request
            }
            Trace.mark("send-message");
            writeLine(json.writeValueAsBytes(m));
        } catch (IOException e) {
            outputFailed(e);
        } catch (RuntimeException | LinkageError e) {
            log.warn("cannot write a " + m.getClass().getSimpleName() + " as JSON: " + e);
            if (response) {
                writeError(((JsonRpc.JSONRPCResponse) m).id(), McpSchema.ErrorCodes.INTERNAL_ERROR, "Internal error: the"
                        + " brokerctl MCP server could not write its answer; its log (stderr) says why");
            }
        } finally {
            if (response) {
                inFlight.answered(key);
            }
        }
    }

    private static String toolName(McpSchema.JSONRPCRequest r) {
        if (McpSchema.METHOD_TOOLS_CALL.equals(r.method()) && r.params() instanceof Map<?, ?> p
                && p.get("name") instanceof String name) {
            return name;
        }
        return null;
    }

    private void cancelled(Object params) {
        if (!(params instanceof Map<?, ?> p) || !(p.get("requestId") instanceof String || p.get("requestId") instanceof Number)) {
            log.warn("ignored notifications/cancelled without a requestId");
            return;
        }
        Object key = InFlightRequests.key(p.get("requestId"));
        String method = inFlight.method(key);
        if (inFlight.cancel(key)) {
            log.info("the client cancelled request " + p.get("requestId") + " (" + method + ")");
        }
    }

    // ------------------------------------------------------------------ writing

    private void writeResult(Object id, Map<String, Object> result) {
        Map<String, Object> response = new LinkedHashMap<>();
        response.put("jsonrpc", McpSchema.JSONRPC_VERSION);
        response.put("id", id);
        response.put("result", result);
        try {
            writeLine(json.writeValueAsBytes(response));
        } catch (IOException e) {
            outputFailed(e);
        }
    }

    private void writeError(Object id, int code, String message) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("code", code);
        error.put("message", message);
        Map<String, Object> response = new LinkedHashMap<>();
        response.put("jsonrpc", McpSchema.JSONRPC_VERSION);
        response.put("id", id);
        response.put("error", error);
        try {
            writeLine(json.writeValueAsBytes(response));
        } catch (IOException e) {
            outputFailed(e);
        }
    }

    private void writeLine(byte[] bytes) throws IOException {
        synchronized (writeLock) {
            out.write(bytes);
            out.write('\n');
            out.flush();
        }
        Trace.mark("line-written");
    }

    private void outputFailed(IOException e) {
        if (!outputBroken.getAndSet(true)) {
            log.warn("cannot write to stdout (" + e.getMessage() + "); the client is gone");
        }
    }

    private final class Transport implements McpServerTransport {

        @Override
        public Mono<Void> sendMessage(JSONRPCMessage message) {
            return Mono.fromRunnable(() -> {
                try {
                    write(inFlight.outgoing(message));
                } finally {
                    inFlight.sent(message);
                }
            });
        }

        private void write(JSONRPCMessage m) {
            if (m == null) {
                return;
            }
            Trace.mark("send-message");
            byte[] bytes;
            try {
                // Jackson escapes control characters in strings, so the JSON holds no newline
                bytes = json.writeValueAsBytes(m);
            } catch (IOException | RuntimeException | LinkageError e) {
                // say so rather than leave the client waiting for an answer that never comes
                log.warn("cannot write a " + m.getClass().getSimpleName() + " as JSON: " + e);
                if (m instanceof McpSchema.JSONRPCResponse r && r.id() != null) {
                    writeError(r.id(), McpSchema.ErrorCodes.INTERNAL_ERROR, "Internal error: the brokerctl"
                            + " MCP server could not write its answer; its log (stderr) says why");
                }
                return;
            }
            try {
                writeLine(bytes);
            } catch (IOException e) {
                outputFailed(e);
            }
        }

        @Override
        public <T> T unmarshalFrom(Object data, TypeRef<T> typeRef) {
            return json.convertValue(data, typeRef);
        }

        @Override
        public Mono<Void> closeGracefully() {
            return Mono.empty();
        }

        @Override
        public void close() {
            // the streams belong to the caller of BrokerMcpServer.serve
        }
    }
}

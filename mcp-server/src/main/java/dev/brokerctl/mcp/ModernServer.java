package dev.brokerctl.mcp;

import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.schema.JsonSchemaValidator;
import io.modelcontextprotocol.modern.McpSchema.CacheScope;
import io.modelcontextprotocol.modern.McpSchema.CallToolOutcome;
import io.modelcontextprotocol.modern.McpSchema.CallToolResult;
import io.modelcontextprotocol.modern.McpSchema.Implementation;
import io.modelcontextprotocol.modern.McpSchema.LoggingLevel;
import io.modelcontextprotocol.modern.McpSchema.MetaKeys;
import io.modelcontextprotocol.modern.McpSchema.TextContent;
import io.modelcontextprotocol.modern.McpSchema.Tool;
import io.modelcontextprotocol.modern.server.HmacRequestStateCodec;
import io.modelcontextprotocol.modern.server.McpRequestContext;
import io.modelcontextprotocol.modern.server.McpServer;
import io.modelcontextprotocol.modern.server.McpSyncNotifier;
import io.modelcontextprotocol.modern.server.McpSyncResponse;
import io.modelcontextprotocol.modern.server.feature.McpSyncTool;
import io.modelcontextprotocol.modern.server.feature.McpSyncToolRepository;
import io.modelcontextprotocol.modern.server.feature.ToolsFeature;
import io.modelcontextprotocol.modern.server.feature.ToolsPage;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * MCP's 2026-07-28 revision beside the 2025-11-25 session: no {@code initialize}, every request
 * carries its protocol version and the client's capabilities in {@code _meta}, and
 * {@code server/discover} says what this server speaks. The SDK's stateless server (2.2.0,
 * {@code io.modelcontextprotocol.modern}) answers these requests with the same tools and the same
 * handlers as the session: {@link BrokerTools} does not know which revision a call came in.
 * {@link LineTransportProvider} sends a request here when it is {@code server/discover} or names a
 * protocol version in its {@code _meta}; everything else goes to the session.
 */
final class ModernServer {

    /** The revision this server speaks without a session. */
    static final String VERSION = io.modelcontextprotocol.modern.McpSchema.LATEST_PROTOCOL_VERSION;

    private static final Map<String, Object> ANY_OBJECT = Map.of("type", "object");

    private ModernServer() {
    }

    static McpServer build(BrokerTools tools, McpJsonMapper json, String version) {
        Map<String, Tool> byName = new LinkedHashMap<>();
        Set<Map<String, Object>> inputSchemas = new HashSet<>();
        inputSchemas.add(ANY_OBJECT);
        for (McpSchema.Tool t : tools.toolList()) {
            Tool tool = json.convertValue(t, Tool.class);
            byName.put(tool.name(), tool);
            inputSchemas.add(tool.inputSchema());
        }
        List<Tool> list = List.copyOf(byName.values());
        McpSyncToolRepository repository = new McpSyncToolRepository() {
            @Override
            public ToolsPage list(McpRequestContext ctx, String cursor) {
                return ToolsPage.of(list);
            }

            @Override
            public McpSyncTool find(McpRequestContext ctx, String name) {
                // an unknown name is answered by BrokerTools with the list of tools, as in a session
                Tool tool = byName.get(name);
                if (tool == null) {
                    tool = Tool.builder(name == null ? "" : name, ANY_OBJECT).build();
                }
                return McpSyncTool.of(tool, (c, request) -> McpSyncResponse.streaming(
                        notifier -> outcome(tools.call(request.name(), caller(c, notifier), request.arguments()))));
            }
        };
        // The tools check their own arguments, with messages an agent can act on (as in the session,
        // where the SDK's check is off); results are checked against their output schemas.
        OutputValidator output = new OutputValidator();
        JsonSchemaValidator validator = (schema, value) -> inputSchemas.contains(schema)
                ? JsonSchemaValidator.ValidationResponse.asValid("") : output.validate(schema, value);
        return McpServer.builder()
                .serverInfo(Implementation.builder("brokerctl", version).build())
                .instructions(BrokerTools.INSTRUCTIONS)
                .supportedVersions(List.of(VERSION))
                .jsonMapper(json)
                .feature(ToolsFeature.ofSync(repository, json, validator, 0L, CacheScope.PRIVATE))
                // no tool asks the client for input, so no request state is ever sealed; a key of
                // our own keeps the SDK from warning that it made one up
                .requestStateCodec(HmacRequestStateCodec.builder().key(randomKey()).jsonMapper(json).build())
                .build();
    }

    private static byte[] randomKey() {
        byte[] key = new byte[32];
        new java.security.SecureRandom().nextBytes(key);
        return key;
    }

    /** A session's tool result as the 2026-07-28 result it is. */
    static CallToolOutcome outcome(McpSchema.CallToolResult result) {
        CallToolResult.Builder b = CallToolResult.builder();
        for (McpSchema.Content c : result.content()) {
            if (!(c instanceof McpSchema.TextContent text)) {
                throw new IllegalStateException("a tool result holds " + c.type() + " content; only text is expected");
            }
            b.addContent(TextContent.builder(text.text()).build());
        }
        if (result.structuredContent() != null) {
            b.structuredContent(result.structuredContent());
        }
        return b.isError(Boolean.TRUE.equals(result.isError())).build();
    }

    private static BrokerTools.Caller caller(McpRequestContext ctx, McpSyncNotifier notifier) {
        Object key = ctx.transportContext() == null ? null : ctx.transportContext().get(InFlightRequests.CONTEXT_KEY);
        Implementation client = ctx.clientInfo();
        LoggingLevel threshold = logLevel(ctx.meta());
        return new BrokerTools.Caller() {
            @Override
            public McpSchema.Implementation client() {
                return client == null ? null : new McpSchema.Implementation(client.name(), client.version());
            }

            @Override
            public Object progressToken() {
                return ctx.progressToken();
            }

            @Override
            public Object requestKey() {
                return key;
            }

            @Override
            public void progress(McpSchema.ProgressNotification n) {
                notifier.progress(n.progress(), n.total(), n.message());
            }

            @Override
            public void log(McpSchema.LoggingMessageNotification n) {
                // 2026-07-28 has no logging/setLevel: a request asks for messages with a level in its _meta
                if (threshold == null || LoggingLevel.valueOf(n.level().name()).level() < threshold.level()) {
                    return;
                }
                Map<String, Object> params = new LinkedHashMap<>();
                params.put("level", n.level().name().toLowerCase(Locale.ROOT));
                params.put("logger", n.logger());
                params.put("data", n.data());
                notifier.notify(io.modelcontextprotocol.modern.McpSchema.METHOD_NOTIFICATION_MESSAGE, params);
            }
        };
    }

    /** The level a request asked for messages at, or null for none (an unknown level asks for none). */
    static LoggingLevel logLevel(Map<String, Object> meta) {
        if (meta == null || !(meta.get(MetaKeys.LOG_LEVEL) instanceof String level)) {
            return null;
        }
        for (LoggingLevel l : LoggingLevel.values()) {
            if (l.name().equalsIgnoreCase(level)) {
                return l;
            }
        }
        return null;
    }
}

package dev.brokerctl.mcp;

import dev.brokerctl.protocol.BrokerPaths;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.jackson3.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * The stdio MCP server an agent launches as {@code brokerctl mcp}: a bridge from MCP tools to the
 * daemon's socket. It holds names, argv and masked output, never a value; nothing it depends on can
 * produce one.
 */
public final class BrokerMcpServer {

    /** Set in an MCP server's environment, it would hand the agent the passphrase. */
    static final String PASSPHRASE_FILE_VARIABLE = "BROKERCTL_PASSPHRASE_FILE";

    /** Exit code when the server refuses to start. */
    static final int REFUSED = 2;

    static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(5);

    /** Set (not "0"), a run result's text block carries the output too, for clients that ignore structured content. */
    static final String OUTPUT_IN_TEXT_VARIABLE = "BROKERCTL_MCP_OUTPUT_IN_TEXT";

    /** How long the end of stdin waits for calls in progress to be answered. */
    static final Duration DRAIN = Duration.ofSeconds(2);

    private BrokerMcpServer() {
    }

    /**
     * Serves one MCP session on {@code stdin}/{@code stdout} until stdin ends.
     *
     * @param stdout carries JSON-RPC only
     * @param log every log line (stderr)
     * @param paths where the daemon's socket is
     * @return 0 after a session, {@value #REFUSED} when refusing to start, 1 when the server failed
     */
    public static int serve(InputStream stdin, OutputStream stdout, PrintStream log, BrokerPaths paths) {
        return serve(stdin, stdout, log, paths, System.getenv());
    }

    /** {@link #serve(InputStream, OutputStream, PrintStream, BrokerPaths)} with the environment given. */
    static int serve(InputStream stdin, OutputStream stdout, PrintStream log, BrokerPaths paths,
            Map<String, String> environment) {
        return serve(stdin, stdout, log, paths, environment, PROGRESS_INTERVAL);
    }

    static int serve(InputStream stdin, OutputStream stdout, PrintStream log, BrokerPaths paths,
            Map<String, String> environment, Duration progressInterval) {
        Trace.mark("serve");
        if (environment.containsKey(PASSPHRASE_FILE_VARIABLE)) {
            log.println("brokerctl mcp: refusing to start: " + PASSPHRASE_FILE_VARIABLE + " is set in this server's"
                    + " environment. The agent configured this MCP server, so it could read that file and unlock"
                    + " the vault or approve its own runs: that would hand the agent the passphrase. Remove "
                    + PASSPHRASE_FILE_VARIABLE + " from the brokerctl server's \"env\" in the agent's MCP"
                    + " configuration; the human unlocks the vault with: brokerctl unlock");
            log.flush();
            return REFUSED;
        }
        String debug = environment.get("BROKERCTL_DEBUG");
        McpLog mcpLog = new McpLog(log, debug != null && !debug.isEmpty() && !debug.equals("0"));
        VariableRequests variables = new VariableRequests(mcpLog, new dev.brokerctl.protocol.Workers("mcp-reader"));
        String textOutput = environment.get(OUTPUT_IN_TEXT_VARIABLE);
        boolean outputInText = textOutput != null && !textOutput.isEmpty() && !textOutput.equals("0");
        McpSyncServer server = null;
        InFlightRequests inFlight = null;
        try {
            JsonMapper jackson = JsonMapper.builder().build();
            McpJsonMapper json = new JacksonMcpJsonMapper(jackson);
            inFlight = new InFlightRequests(BrokerTools::refusedCall);
            String version = version();
            Daemon daemon = new Daemon(paths, version);
            BrokerTools tools = new BrokerTools(daemon, variables, inFlight, mcpLog, progressInterval, outputInText);
            LineTransportProvider transport = new LineTransportProvider(json, stdin, stdout, inFlight, mcpLog);
            server = McpServer.sync(transport)
                    .serverInfo("brokerctl", version)
                    .instructions(BrokerTools.INSTRUCTIONS)
                    .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
                    .jsonMapper(json)
                    // set, not looked up (a shaded jar may lose the SDK's ServiceLoader files); checks
                    // each result against its output schema without the SDK's networknt validator
                    .jsonSchemaValidator(new OutputValidator())
                    // the tools check their arguments themselves, with messages an agent can act on
                    .validateToolInputs(false)
                    .tools(tools.specifications())
                    .build();
            transport.modern(() -> ModernServer.build(tools, json, version), version);
            Trace.mark("server-built");
            mcpLog.info("serving MCP on stdio, version " + version + ", daemon socket " + paths.socket());
            transport.serve();
            mcpLog.info("stdin closed; answering the calls in progress");
            // A client may send its last request and close stdin: every call still waiting answers
            // now with what it has (a run goes on in the daemon), and is written before we exit.
            tools.endSession();
            inFlight.awaitIdle(DRAIN);
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        } catch (RuntimeException | LinkageError e) {
            mcpLog.warn("the MCP server failed: " + e);
            return 1;
        } finally {
            // runs belong to the daemon and go on; a pending variable request is withdrawn
            variables.closeAll();
            if (inFlight != null) {
                try {
                    inFlight.awaitIdle(DRAIN);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (server != null) {
                server.close();
            }
            mcpLog.info("the MCP session is over");
        }
    }

    static String version() {
        String v = BrokerMcpServer.class.getPackage().getImplementationVersion();
        return v == null || v.isEmpty() ? "dev" : v;
    }
}

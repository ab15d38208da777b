package dev.brokerctl.mcp;

import static dev.brokerctl.mcp.Schema.arrayOf;
import static dev.brokerctl.mcp.Schema.bool;
import static dev.brokerctl.mcp.Schema.integer;
import static dev.brokerctl.mcp.Schema.nullable;
import static dev.brokerctl.mcp.Schema.object;
import static dev.brokerctl.mcp.Schema.props;
import static dev.brokerctl.mcp.Schema.result;
import static dev.brokerctl.mcp.Schema.string;
import static dev.brokerctl.mcp.Schema.with;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.DaemonUnavailableException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Message;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.TextContent;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import io.modelcontextprotocol.spec.McpSchema.ToolAnnotations;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tools: their schemas, descriptions and annotations, and the handlers that turn a call into
 * daemon messages. Runs belong to the daemon (it holds them and their masked output): this server
 * keeps no run state, so any session reads any run started over MCP by its handle. Every result,
 * an error included, carries structured content matching the tool's output schema; {@code isError}
 * is set only when the call could not be carried out. Nothing here sees a secret value, only
 * names, argv and masked output.
 */
final class BrokerTools {

    static final String BROKER_STATUS = "broker_status";
    static final String LIST_ENVIRONMENTS = "list_environments";
    static final String LIST_VARIABLES = "list_variables";
    static final String RUN_COMMAND = "run_command";
    static final String GET_RUN = "get_run";
    static final String STOP_RUN = "stop_run";
    static final String LIST_RUNS = "list_runs";
    static final String REQUEST_VARIABLE = "request_variable";

    static final List<String> NAMES = List.of(BROKER_STATUS, LIST_ENVIRONMENTS, LIST_VARIABLES, RUN_COMMAND, GET_RUN,
            STOP_RUN, LIST_RUNS, REQUEST_VARIABLE);

    static final int DEFAULT_WAIT_SECONDS = 50;
    static final int MAX_WAIT_SECONDS = 600;
    /** Characters of each stream a result holds by default, and at most (the daemon's page sizes). */
    static final int DEFAULT_OUTPUT_CHARS = 8000;
    static final int MAX_OUTPUT_CHARS = 65_536;
    /** The longest one wait on the daemon takes; a longer wait asks again. */
    static final long MAX_DAEMON_WAIT_MS = 60_000;
    /** How long a call waits for the daemon's first answer to a request for a variable. */
    static final long FIRST_ANSWER_MS = 10_000;

    static final String INSTRUCTIONS = String.join("\n",
            "brokerctl runs commands with secrets (API keys, tokens) that you never see.",
            "Workflow: list_environments -> list_variables {environment} (names and descriptions only) ->"
                    + " run_command {environment, command: [argv...], variables: [the names this command needs],"
                    + " reason}. Ask only for the variables the command needs: [] for none; [\"*\"] (all of them)"
                    + " always waits for a human. The daemon injects the values into the command's environment and"
                    + " returns its output with every value masked as [MASKED:NAME].",
            "Values are never shown to you; do not try to print or extract them.",
            "Runs belong to the brokerctl daemon, not to this session: a result with status 'pending_approval' or"
                    + " 'running' is not a failure; get_run {run_id} keeps waiting (also from a later session),"
                    + " list_runs shows recent runs, stop_run stops one. Cancelling a call only stops waiting.",
            "Output is paged: pass stdout_offset/stderr_offset (the *_next_offset of the last result) to get_run to"
                    + " get only new output.",
            "If a variable you need does not exist, request_variable asks the human to add it.",
            "If a tool says the daemon is not running or the vault is locked, ask the human to run the command it"
                    + " names (brokerctl daemon, brokerctl unlock); broker_status checks again.");

    /** A tool and what to do when it is called. */
    private record ToolDef(Tool tool, Map<String, Object> inputSchema, Map<String, Object> outputSchema,
            Handler handler) {
    }

    @FunctionalInterface
    private interface Handler {
        CallToolResult handle(Call call, Map<String, Object> args) throws ToolFailure, InterruptedException;
    }

    private final Daemon daemon;
    private final VariableRequests variables;
    private final InFlightRequests inFlight;
    private final McpLog log;
    private final long progressIntervalMs;
    private final boolean outputInText;
    private final List<ToolDef> tools;
    /** Connections of calls waiting on the daemon; closed when the session ends, so they answer now. */
    private final Set<BrokerClient> waiting = ConcurrentHashMap.newKeySet();
    private volatile boolean ending;

    /**
     * @param progressInterval how often a waiting call reports progress
     * @param outputInText whether a run result's text block carries the output too (for clients
     *     that show the model only text content)
     */
    BrokerTools(Daemon daemon, VariableRequests variables, InFlightRequests inFlight, McpLog log,
            Duration progressInterval, boolean outputInText) {
        this.daemon = daemon;
        this.variables = variables;
        this.inFlight = inFlight;
        this.log = log;
        this.progressIntervalMs = progressInterval.toMillis();
        this.outputInText = outputInText;
        this.tools = definitions();
    }

    /**
     * The client's side of one tool call, whichever protocol revision it came in: a 2025-11-25
     * session's exchange, or a 2026-07-28 request's context and notifier.
     */
    interface Caller {
        /** The client's name and version as it states them (a claim), or null. */
        McpSchema.Implementation client();

        /** The request's progress token, or null when the client asked for no progress. */
        Object progressToken();

        /** The key of the request in {@link InFlightRequests}, or null. */
        Object requestKey();

        void progress(McpSchema.ProgressNotification notification);

        /** A {@code notifications/message}, sent only if the client's logging level lets it through. */
        void log(McpSchema.LoggingMessageNotification notification);
    }

    /** The tools for the 2025-11-25 session of the SDK's server. */
    List<SyncToolSpecification> specifications() {
        List<SyncToolSpecification> specs = new ArrayList<>();
        for (ToolDef d : tools) {
            specs.add(new SyncToolSpecification(d.tool(),
                    (exchange, request) -> invoke(d, sessionCaller(exchange, request), request.arguments())));
        }
        return specs;
    }

    /** The tools' definitions, in the order tools/list gives them. */
    List<Tool> toolList() {
        return tools.stream().map(ToolDef::tool).toList();
    }

    /** Calls the tool {@code name}; an unknown name is an {@code isError} result naming the tools. */
    CallToolResult call(String name, Caller caller, Map<String, Object> arguments) {
        for (ToolDef d : tools) {
            if (d.tool().name().equals(name)) {
                return invoke(d, caller, arguments);
            }
        }
        return refusedCall(name, null);
    }

    private static Caller sessionCaller(McpSyncServerExchange exchange, CallToolRequest request) {
        Object key = exchange.transportContext() == null ? null
                : exchange.transportContext().get(InFlightRequests.CONTEXT_KEY);
        return new Caller() {
            @Override
            public McpSchema.Implementation client() {
                return exchange.getClientInfo();
            }

            @Override
            public Object progressToken() {
                return request.progressToken();
            }

            @Override
            public Object requestKey() {
                return key;
            }

            @Override
            public void progress(McpSchema.ProgressNotification notification) {
                exchange.progressNotification(notification);
            }

            @Override
            public void log(McpSchema.LoggingMessageNotification notification) {
                exchange.loggingNotification(notification);
            }
        };
    }

    /**
     * stdin ended: every call still waiting answers now with what it has (a run goes on in the
     * daemon), so no answer is lost when the client closes its side first.
     */
    void endSession() {
        ending = true;
        for (BrokerClient c : waiting) {
            c.close();
        }
        variables.stopWaiting();
    }

    // ------------------------------------------------------------------ definitions

    private List<ToolDef> definitions() {
        Map<String, Object> environment = with(string("Environment name, as list_environments shows it: 1-63"
                + " characters of a-z, 0-9, '_' and '-', starting with a letter or digit"),
                "pattern", "^[a-z0-9][a-z0-9_-]{0,62}$");
        Map<String, Object> variableName = with(string("Variable name: 1-128 characters of A-Z, a-z, 0-9 and '_',"
                + " not starting with a digit"), "pattern", "^[A-Za-z_][A-Za-z0-9_]{0,127}$");
        Map<String, Object> runResult = runResultSchema();

        List<ToolDef> defs = new ArrayList<>();
        defs.add(def(BROKER_STATUS, "Broker status",
                "Check whether the brokerctl daemon is running, whether its vault is unlocked, and how many"
                        + " requests wait for a human's approval. When another tool reports that the daemon is"
                        + " unreachable or the vault locked, relay the `message` to the human, then call this again.",
                object(props()),
                result(props(
                        "running", bool("Whether the daemon answers on its socket"),
                        "locked", nullable("boolean", "Whether the vault is locked (null when the daemon is not running)"),
                        "pending_approvals", nullable("integer",
                                "Requests waiting for a human's decision (null when the daemon is not running)"),
                        "socket", string("The daemon's socket path"),
                        "message", string("The state in words, and what the human must do if anything"))),
                annotations("Broker status", true, false, true, false), this::brokerStatus));

        Map<String, Object> environmentItem = result(props(
                "name", string("Environment name"),
                "policy", string("'auto': runs that name their variables start without asking; 'prompt': a human"
                        + " approves each run"),
                "variable_count", integer("How many variables it holds")));
        Map<String, Object> environmentsOut = result(props(
                "environments", arrayOf(environmentItem, "The environments")));
        optional(environmentsOut, "damaged", arrayOf(string("A damaged entry"),
                "Present only when some entries failed the vault's integrity check; tell the human"));
        defs.add(def(LIST_ENVIRONMENTS, "List environments",
                "List the environments (sets of secret variables, e.g. dev, staging, prod) that run_command can"
                        + " use: name, approval policy ('auto' runs at once, 'prompt' waits for a human to approve"
                        + " each run) and the number of variables. Values are never returned.",
                object(props()), environmentsOut,
                annotations("List environments", true, false, true, false), this::listEnvironments));

        Map<String, Object> variableItem = result(props(
                "name", string("Variable name: the environment variable the command sees"),
                "description", string("What the value is, as the human described it"),
                "updated_at", string("When the value was last set (ISO-8601)")));
        Map<String, Object> variablesOut = result(props(
                "environment", string("The environment"),
                "variables", arrayOf(variableItem, "Its variables, names and descriptions only")));
        optional(variablesOut, "damaged", arrayOf(string("A damaged entry"),
                "Present only when some entries failed the vault's integrity check; tell the human"));
        defs.add(def(LIST_VARIABLES, "List variables",
                "List the variables of one environment: name, description and last update; never values. Pass"
                        + " the names a command needs as run_command's `variables`, and only those. If one you need"
                        + " is missing, use request_variable.",
                object(props("environment", environment), "environment"), variablesOut,
                annotations("List variables", true, false, true, false), this::listVariables));

        Map<String, Object> variableOrAll = with(string("A variable name (as list_variables shows it), or \"*\" alone"
                + " for all of them"), "pattern", "^(\\*|[A-Za-z_][A-Za-z0-9_]{0,127})$");
        defs.add(def(RUN_COMMAND, "Run a command with secrets",
                "Run a command with some of an environment's secret variables in its environment, through the"
                        + " brokerctl daemon. The command starts from argv, without a shell (for pipes, redirection"
                        + " or $VARIABLES use [\"sh\", \"-c\", \"...\"]), in `cwd`. `variables` names what it needs"
                        + " (list_variables shows the names; [] for none; [\"*\"] for all, which always waits for a"
                        + " human). You never see the values: output comes back with each value masked as"
                        + " [MASKED:NAME], at most max_output_chars per stream (head and tail when longer; page with"
                        + " get_run's stdout_offset/stderr_offset). Give a `reason`: the human reads it when"
                        + " approving. With a 'prompt' policy the run waits for a human. This call waits up to"
                        + " wait_seconds; the run belongs to the daemon and goes on after that, after a cancelled"
                        + " call and after this session ends: get_run {run_id} keeps waiting, stop_run stops it."
                        + " Cancelling this call only stops waiting, unless stop_on_cancel is true.",
                object(props(
                        "environment", environment,
                        "command", with(with(arrayOf(string("An argument"),
                                "The command and its arguments, e.g. [\"npm\", \"test\"]"), "minItems", 1), "maxItems", 1024),
                        "variables", with(arrayOf(variableOrAll, "Names of the variables to inject, only those the"
                                + " command needs (see list_variables); [] for none, [\"*\"] for all (always asks a"
                                + " human)"), "maxItems", 1000),
                        "cwd", string("Absolute directory to run in (default: this server's working directory)"),
                        "reason", with(with(string("Why this run is needed, in one sentence; shown to the human who"
                                + " approves it"), "minLength", 1), "maxLength", 2000),
                        "timeout_seconds", with(with(integer("Kill the command (and everything it started) after"
                                + " this many seconds (default: no limit)"), "minimum", 1), "maximum", 7 * 24 * 3600),
                        "wait_seconds", waitSchema("finish"),
                        "stop_on_cancel", bool("Kill the run when this call is cancelled (default false: cancelling"
                                + " only stops waiting)"),
                        "max_output_chars", maxOutputSchema()),
                        "environment", "command", "variables", "reason"),
                runResult, annotations("Run a command with secrets", false, true, false, true), this::runCommand));

        Map<String, Object> runId = with(string("The run's handle, as run_command or list_runs returned it in"
                + " `run_id` (\"r_\" and 26 characters), not its run_number"), "pattern", "^r_[a-z2-7]{26}$");
        Map<String, Object> offset = with(integer("Byte offset to read this stream from: the *_next_offset of the"
                + " last result returns only what is new; 0 pages from the start. Omitted: head and tail of all of"
                + " it"), "minimum", 0);
        defs.add(def(GET_RUN, "Get a run",
                "Get the state and masked output of a run started with run_command, from this or any earlier MCP"
                        + " session (the daemon keeps the last 100 runs, each up to an hour after it ended), waiting"
                        + " up to wait_seconds for it to finish. With stdout_offset/stderr_offset it returns only the"
                        + " output from there on. Cancelling this call only stops waiting.",
                object(props("run_id", runId, "wait_seconds", waitSchema("finish"), "stdout_offset", offset,
                        "stderr_offset", offset, "max_output_chars", maxOutputSchema()), "run_id"),
                runResult, annotations("Get a run", true, false, true, false), this::getRun));

        defs.add(def(STOP_RUN, "Stop a run",
                "Stop a run started with run_command (in any session): a running command is killed together with"
                        + " every process it started; a run still waiting for approval is withdrawn. Returns the"
                        + " run's final state. Stopping a run that has ended does nothing.",
                object(props("run_id", runId), "run_id"),
                runResult, annotations("Stop a run", false, true, true, false), this::stopRun));

        Map<String, Object> runItem = result(props(
                "run_id", string("The run's handle, for get_run and stop_run"),
                "run_number", integer("The run's number, as the human sees it in the console and audit log"),
                "status", with(string("The run's status (see run_command's output)"), "enum", RunState.STATUSES),
                "environment", string("The environment"),
                "command", arrayOf(string("An argument"), "The command and its arguments"),
                "variables", arrayOf(string("A name"), "The variables asked for ([\"*\"]: all), or the names the human"
                        + " narrowed a request for all to"),
                "reason", string("The reason given"),
                "requested_at", string("When it was requested (ISO-8601)"),
                "exit_code", nullable("integer", "The command's exit code, when it has one")));
        defs.add(def(LIST_RUNS, "List runs",
                "List recent runs started with run_command from any MCP session, newest first, without output:"
                        + " handle, number, status, command. The daemon keeps the last 100, each up to an hour after"
                        + " it ended; runs a human started in a shell are never listed.",
                object(props(
                        "state", with(string("Only runs in this state: active (pending_approval or running),"
                                + " finished, or one status"), "enum", stateFilters()),
                        "limit", with(with(integer("At most this many (default 20)"), "minimum", 1), "maximum", 100))),
                result(props("runs", arrayOf(runItem, "The runs, newest first"),
                        "message", string("What the list holds"))),
                annotations("List runs", true, false, true, false), this::listRuns));

        defs.add(def(REQUEST_VARIABLE, "Ask the human for a new variable",
                "Ask the human to add a variable that does not exist yet (check list_variables first). The human"
                        + " types the value into their brokerctl console and it goes straight into the vault; you"
                        + " never see it. Say in `description` what the value is and where the human finds it. Waits"
                        + " up to wait_seconds; if the status is 'pending', call again with the same environment and"
                        + " name to keep waiting (it does not ask twice). A request the human declined is not asked"
                        + " again unchanged for 10 minutes.",
                object(props(
                        "environment", environment,
                        "name", variableName,
                        "description", with(with(string("What the value is and where to find it, e.g. 'Stripe test"
                                + " secret key (Dashboard > Developers > API keys)'; shown to the human and stored"
                                + " with the variable"), "minLength", 1), "maxLength", 500),
                        "wait_seconds", waitSchema("answer")),
                        "environment", "name", "description"),
                result(props(
                        "status", with(string("provided | exists (it is there already: use it) | declined |"
                                + " timed_out | pending | error (the call could not be carried out)"), "enum",
                                List.of("provided", "exists", "declined", "timed_out", "pending", "error")),
                        "message", string("What happened and what to do next"))),
                annotations("Ask the human for a new variable", false, false, false, false), this::requestVariable));
        for (ToolDef d : defs) {
            optional(d.outputSchema(), "error", string("Present when the call could not be carried out (isError):"
                    + " what went wrong and what to do"));
        }
        return List.copyOf(defs);
    }

    private static List<String> stateFilters() {
        List<String> states = new ArrayList<>(List.of("active", "finished"));
        states.addAll(RunState.STATUSES.subList(0, RunState.STATUSES.size() - 1));
        return states;
    }

    private static Map<String, Object> runResultSchema() {
        Map<String, Object> runIdOut = nullable("string", "The run's handle (\"r_...\"): pass it to get_run and"
                + " stop_run, from any session; null when no run was started");
        Map<String, Object> schema = result(props(
                "status", with(string("pending_approval: waiting for a human; running; completed: the command"
                        + " exited (exit_code); timed_out: it ran past timeout_seconds and was killed;"
                        + " approval_timed_out: nobody approved in time, it never ran; denied: a human refused it;"
                        + " failed_to_start: it could not start (see message; isError); stopped: stop_run stopped"
                        + " or withdrew it; daemon_stopped: the daemon stopped while it waited or ran; error: the"
                        + " call could not be carried out (isError)"), "enum", RunState.STATUSES),
                "run_id", runIdOut,
                "run_number", nullable("integer", "The run's number as the human sees it (console, audit log)"),
                "exit_code", nullable("integer", "The command's exit code; null until it exits, or if it never ran"),
                "stdout", string("Masked standard output: the page this result holds"),
                "stdout_offset", integer("Byte offset in stdout where `stdout` starts"),
                "stdout_next_offset", integer("Pass as stdout_offset to get_run to get only what comes after"),
                "stdout_total_bytes", integer("Bytes of stdout so far"),
                "stdout_truncated", bool("Whether some of stdout is not in this page (see message)"),
                "stderr", string("Masked standard error: the page this result holds"),
                "stderr_offset", integer("Byte offset in stderr where `stderr` starts"),
                "stderr_next_offset", integer("Pass as stderr_offset to get_run to get only what comes after"),
                "stderr_total_bytes", integer("Bytes of stderr so far"),
                "stderr_truncated", bool("Whether some of stderr is not in this page (see message)"),
                "duration_ms", nullable("integer", "How long the command ran, in milliseconds; null before it started"),
                "masked_count", nullable("integer", "How many secret values were masked in the output; null before"
                        + " it exits"),
                "message", string("What happened and what to do next")));
        optional(schema, "hint", string("Present when the request looks like a mistake, e.g. a $NAME in argv that"
                + " no shell expands"));
        return schema;
    }

    private static Map<String, Object> waitSchema(String what) {
        return with(with(integer("How many seconds to wait for it to " + what + " before returning (default "
                + DEFAULT_WAIT_SECONDS + ", 0 returns at once)"), "minimum", 0), "maximum", MAX_WAIT_SECONDS);
    }

    private static Map<String, Object> maxOutputSchema() {
        return with(with(integer("At most this many characters of each stream in the result (default "
                + DEFAULT_OUTPUT_CHARS + ")"), "minimum", 100), "maximum", MAX_OUTPUT_CHARS);
    }

    @SuppressWarnings("unchecked")
    private static void optional(Map<String, Object> schema, String name, Map<String, Object> property) {
        ((Map<String, Object>) schema.get("properties")).put(name, property);
        List<String> required = new ArrayList<>((List<String>) schema.get("required"));
        required.remove(name);
        schema.put("required", required);
    }

    private static ToolAnnotations annotations(String title, boolean readOnly, boolean destructive, boolean idempotent,
            boolean openWorld) {
        return ToolAnnotations.builder().title(title).readOnlyHint(readOnly).destructiveHint(destructive)
                .idempotentHint(idempotent).openWorldHint(openWorld).build();
    }

    private static ToolDef def(String name, String title, String description, Map<String, Object> input,
            Map<String, Object> output, ToolAnnotations annotations, Handler handler) {
        Tool tool = Tool.builder().name(name).title(title).description(description).inputSchema(input)
                .outputSchema(output).annotations(annotations).build();
        return new ToolDef(tool, input, output, handler);
    }

    // ------------------------------------------------------------------ dispatch

    private CallToolResult invoke(ToolDef def, Caller caller, Map<String, Object> arguments) {
        Trace.mark("tool-invoked");
        String name = def.tool().name();
        if (caller.client() != null) {
            daemon.agent(caller.client().name(), caller.client().version());
        }
        Map<String, Object> args = arguments == null ? Map.of() : arguments;
        List<String> problems = Schema.validate(def.inputSchema(), args);
        if (!problems.isEmpty()) {
            log.info("tool " + name + ": invalid arguments (" + problems.size() + ")");
            String message = "invalid arguments for " + name + ": " + String.join("; ", problems)
                    + "; see the tool's input schema";
            if (name.equals(RUN_COMMAND) && args.get("variables") == null) {
                message += ". `variables` names the variables the command needs: call list_variables"
                        + " {environment} to see them, pass [] for none, or [\"*\"] for all (a human is always asked)";
            }
            if (args.get("run_id") instanceof Number n) {
                message += ". `run_id` is the run's handle (\"r_...\") from run_command or list_runs, not its"
                        + " number " + n + "; list_runs shows both";
            }
            return error(def, message);
        }
        Call call = new Call(caller);
        log.info("tool " + name);
        try {
            CallToolResult result = def.handler().handle(call, args);
            Trace.mark("tool-returned");
            return result;
        } catch (ToolFailure e) {
            log.info("tool " + name + " failed: " + e.getMessage());
            return error(def, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(def, "the brokerctl MCP server is shutting down; call " + name + " again when it is back");
        } catch (RuntimeException e) {
            log.warn("tool " + name + ": unexpected " + e);
            return error(def, "internal error in the brokerctl MCP server (" + e.getClass().getSimpleName()
                    + "); try again, and if it persists ask the human to check its log (stderr of brokerctl mcp)");
        }
    }

    /** The result for a {@code tools/call} the SDK refused before reaching a handler. */
    static CallToolResult refusedCall(String toolName, McpSchema.JSONRPCResponse.JSONRPCError error) {
        if (toolName == null || !NAMES.contains(toolName)) {
            return plainError("unknown tool '" + (toolName == null ? "" : Schema.printable(toolName))
                    + "'; this server's tools are: " + String.join(", ", NAMES));
        }
        return plainError("the call to " + toolName + " could not be read; send {\"name\": \"" + toolName
                + "\", \"arguments\": {...}} with an object of arguments matching the tool's input schema");
    }

    /** One tool call: its caller, progress token and JSON-RPC request (for cancellation). */
    private final class Call {
        private final Caller caller;
        private final Object progressToken;
        private final Object requestKey;
        private final long startNanos = System.nanoTime();
        private double lastProgress;

        Call(Caller caller) {
            this.caller = caller;
            this.progressToken = caller.progressToken();
            this.requestKey = caller.requestKey();
        }

        boolean cancelled() {
            return inFlight.isCancelled(requestKey);
        }

        InFlightRequests.Registration onCancel(Runnable action) {
            return inFlight.onCancel(requestKey, action);
        }

        void progress(String message) {
            if (progressToken == null || cancelled()) {
                return;
            }
            double elapsed = Math.floor((System.nanoTime() - startNanos) / 100_000_000.0) / 10.0;
            double progress = Math.max(elapsed, lastProgress + 0.1);   // must increase every time
            lastProgress = progress;
            try {
                caller.progress(new McpSchema.ProgressNotification(progressToken, progress, null, message));
            } catch (RuntimeException e) {
                log.debug("progress notification failed: " + e);
            }
        }

        /** A {@code notifications/message}, sent if the client's logging level lets it through. */
        void notify(McpSchema.LoggingLevel level, String message) {
            try {
                caller.log(new McpSchema.LoggingMessageNotification(level, "brokerctl", message));
            } catch (RuntimeException e) {
                log.debug("logging notification failed: " + e);
            }
        }
    }

    // ------------------------------------------------------------------ status and names

    private CallToolResult brokerStatus(Call call, Map<String, Object> args) throws ToolFailure {
        Map<String, Object> out = new LinkedHashMap<>();
        String socket = daemon.paths().socket().toString();
        try (BrokerClient c = daemon.connect()) {
            Message status = c.call(Message.of("status"));
            boolean locked = status.bool("locked", c.hello().bool("locked", true));
            long pending = status.number("pending", 0);
            out.put("running", true);
            out.put("locked", locked);
            out.put("pending_approvals", pending);
            out.put("socket", status.string("socket", socket));
            out.put("message", locked
                    ? "the daemon is running but the vault is locked; ask the human to run: brokerctl unlock"
                    : "the daemon is running and the vault is unlocked"
                            + (pending > 0 ? "; " + pending + (pending == 1 ? " request waits" : " requests wait")
                            + " for a human's decision" : ""));
        } catch (DaemonUnavailableException e) {
            out.put("running", false);
            out.put("locked", null);
            out.put("pending_approvals", null);
            out.put("socket", socket);
            out.put("message", "the brokerctl daemon is not running (no daemon answers on " + socket
                    + "); ask the human to start it with: brokerctl daemon (and to unlock the vault with:"
                    + " brokerctl unlock)");
            call.notify(McpSchema.LoggingLevel.WARNING, "the brokerctl daemon is not running; the human starts it"
                    + " with: brokerctl daemon");
        } catch (BrokerException e) {
            throw new ToolFailure(Daemon.advice(e, BROKER_STATUS));
        }
        return ok(out, String.valueOf(out.get("message")));
    }

    private CallToolResult listEnvironments(Call call, Map<String, Object> args) throws ToolFailure {
        Message reply = callDaemon(Message.of("list_environments"), LIST_ENVIRONMENTS);
        List<Object> items = new ArrayList<>();
        try {
            for (Message e : reply.messages("environments")) {
                Map<String, Object> item = new LinkedHashMap<>();
                item.put("name", e.string("name"));
                item.put("policy", e.string("policy", ""));
                item.put("variable_count", e.number("variable_count", 0));
                items.add(item);
            }
        } catch (BrokerException e) {
            throw new ToolFailure("the daemon's list of environments could not be read (" + e.getMessage() + ")");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("environments", items);
        damaged(reply, out);
        List<String> names = new ArrayList<>();
        for (Object i : items) {
            names.add(String.valueOf(((Map<?, ?>) i).get("name")));
        }
        return ok(out, items.size() + " environment(s): " + String.join(", ", names));
    }

    private CallToolResult listVariables(Call call, Map<String, Object> args) throws ToolFailure {
        String environment = (String) args.get("environment");
        Message reply = callDaemon(Message.of("list_variables").with("environment", environment), LIST_VARIABLES);
        List<Object> items = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try {
            for (Message v : reply.messages("variables")) {
                // names and metadata only, whatever else a daemon might send
                Map<String, Object> item = new LinkedHashMap<>();
                item.put("name", v.string("name"));
                item.put("description", v.string("description", ""));
                item.put("updated_at", v.string("updated_at", ""));
                items.add(item);
                names.add(v.string("name"));
            }
        } catch (BrokerException e) {
            throw new ToolFailure("the daemon's list of variables could not be read (" + e.getMessage() + ")");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("environment", environment);
        out.put("variables", items);
        damaged(reply, out);
        return ok(out, items.size() + " variable(s) in '" + environment + "': " + String.join(", ", names));
    }

    private static void damaged(Message reply, Map<String, Object> out) {
        try {
            List<String> damaged = reply.strings("damaged");
            if (damaged != null && !damaged.isEmpty()) {
                out.put("damaged", damaged);
            }
        } catch (BrokerException e) {
            // not a list of strings: nothing we can show
        }
    }

    private Message callDaemon(Message request, String tool) throws ToolFailure {
        try {
            return daemon.call(request);
        } catch (BrokerException e) {
            throw new ToolFailure(Daemon.advice(e, tool));
        }
    }

    // ------------------------------------------------------------------ runs

    @SuppressWarnings("unchecked")
    private CallToolResult runCommand(Call call, Map<String, Object> args) throws ToolFailure, InterruptedException {
        String environment = (String) args.get("environment");
        List<String> command = (List<String>) args.get("command");
        if (command.get(0).isEmpty()) {
            throw new ToolFailure("invalid arguments for run_command: the command's first item (the program) is"
                    + " empty; give it as e.g. [\"npm\", \"test\"]");
        }
        String cwd = (String) args.get("cwd");
        if (cwd == null) {
            cwd = Path.of("").toAbsolutePath().toString();
        } else if (!cwd.startsWith("/")) {
            throw new ToolFailure("invalid arguments for run_command: 'cwd' must be an absolute path, not '"
                    + Schema.printable(cwd) + "'; omit it to run in " + Path.of("").toAbsolutePath());
        }
        List<String> names = (List<String>) args.get("variables");
        boolean all = names.contains("*");
        if (all && names.size() > 1) {
            throw new ToolFailure("invalid arguments for run_command: 'variables' is either [\"*\"] (all) or a list"
                    + " of names, not both; name only what the command needs (list_variables shows them)");
        }
        long timeoutMs = number(args, "timeout_seconds", 0) * 1000L;
        long wait = number(args, "wait_seconds", DEFAULT_WAIT_SECONDS);
        boolean stopOnCancel = Boolean.TRUE.equals(args.get("stop_on_cancel"));
        int max = (int) number(args, "max_output_chars", DEFAULT_OUTPUT_CHARS);
        String hint = DollarHint.of(command, all ? null : names);

        Message request = Message.of("run").with("environment", environment).with("argv", command)
                .with("cwd", cwd).with("env", Map.of());   // the agent's own environment stays out: runs start from the daemon's
        if (!all) {
            request.with("variables", names);
        }
        request.with("reason", args.get("reason")).with("timeout_ms", timeoutMs).with("masking", true)
                .with("stdin", false).with("detach", true);
        Message detached;
        // one connection for the request and the wait: a connection (and its hello) less per call
        BrokerClient c;
        Trace.mark("daemon-connect");
        try {
            c = daemon.connect();
        } catch (BrokerException e) {
            throw new ToolFailure(Daemon.advice(e, RUN_COMMAND));
        }
        try {
            Trace.mark("daemon-run-sent");
            detached = c.call(request);
            Trace.mark("daemon-detached");
            if (!"detached".equals(detached.type())) {
                c.close();
                throw new ToolFailure("this brokerctl daemon does not keep runs for MCP sessions (it answered '"
                        + detached.type() + "'); ask the human to restart it after upgrading brokerctl");
            }
        } catch (BrokerException e) {
            c.close();
            throw new ToolFailure(Daemon.advice(e, RUN_COMMAND));
        }
        String handle;
        try {
            handle = detached.string("handle");
            log.info("run " + detached.number("run_id", -1) + " requested: environment " + environment + ", argv of "
                    + command.size() + ", " + (all ? "all variables" : names.size() + " variable(s)"));
        } catch (BrokerException e) {
            c.close();
            throw new ToolFailure("the daemon's answer to the run request could not be read (" + e.getMessage() + ")");
        }
        return waitForRun(call, c, handle, wait, null, null, max, stopOnCancel, hint);
    }

    private CallToolResult getRun(Call call, Map<String, Object> args) throws ToolFailure, InterruptedException {
        Long out = args.get("stdout_offset") instanceof Number n ? n.longValue() : null;
        Long err = args.get("stderr_offset") instanceof Number n ? n.longValue() : null;
        BrokerClient c;
        try {
            c = daemon.connect();
        } catch (BrokerException e) {
            throw new ToolFailure(runFailure(e));
        }
        return waitForRun(call, c, (String) args.get("run_id"), number(args, "wait_seconds", DEFAULT_WAIT_SECONDS),
                out, err, (int) number(args, "max_output_chars", DEFAULT_OUTPUT_CHARS), false, null);
    }

    private CallToolResult stopRun(Call call, Map<String, Object> args) throws ToolFailure {
        String handle = (String) args.get("run_id");
        Message state;
        try (BrokerClient c = daemon.connect()) {
            state = c.call(Message.of("run_stop").with("handle", handle).with("max_bytes", DEFAULT_OUTPUT_CHARS));
        } catch (BrokerException e) {
            throw new ToolFailure(runFailure(e));
        }
        try {
            Map<String, Object> s = RunState.structured(state, null);
            if (state.bool("was_settled", false)) {
                s.put("message", "the run had already ended; " + s.get("message"));
            } else if (!RunState.settled(String.valueOf(s.get("status")))) {
                s.put("message", "asked the daemon to stop run " + s.get("run_number") + ", which has not confirmed"
                        + " yet; call get_run with run_id \"" + handle + "\" to see the outcome");
            }
            return runResult(s);
        } catch (BrokerException e) {
            throw new ToolFailure("the daemon's answer could not be read (" + e.getMessage() + ")");
        }
    }

    private CallToolResult listRuns(Call call, Map<String, Object> args) throws ToolFailure {
        Message request = Message.of("run_list").with("limit", number(args, "limit", 20));
        if (args.get("state") != null) {
            request.with("state", args.get("state"));
        }
        Message reply = callDaemon(request, LIST_RUNS);
        List<Object> items = new ArrayList<>();
        try {
            for (Message r : reply.messages("runs")) {
                Map<String, Object> item = new LinkedHashMap<>();
                item.put("run_id", r.string("handle"));
                item.put("run_number", r.number("run_id", -1));
                item.put("status", r.string("status"));
                item.put("environment", r.string("environment", ""));
                item.put("command", r.strings("argv") == null ? List.of() : r.strings("argv"));
                item.put("variables", r.strings("variables") == null ? List.of() : r.strings("variables"));
                item.put("reason", r.string("reason", ""));
                item.put("requested_at", r.string("requested_at", ""));
                item.put("exit_code", r.has("exit_code") ? r.number("exit_code", -1) : null);
                items.add(item);
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("runs", items);
            out.put("message", items.size() + " run(s)" + (args.get("state") == null ? "" : " in state "
                    + args.get("state")) + "; the daemon holds " + reply.number("held", 0) + " (the last "
                    + reply.number("keep", 0) + ", each up to " + reply.number("retention_ms", 0) / 60_000
                    + " min after it ended; a daemon restart forgets them)");
            return ok(out, String.valueOf(out.get("message")));
        } catch (BrokerException e) {
            throw new ToolFailure("the daemon's list of runs could not be read (" + e.getMessage() + ")");
        }
    }

    /**
     * Waits on the daemon for a run to settle, up to {@code waitSeconds}, reporting progress, and
     * returns its state, on {@code c}, which it closes. Cancelling the call stops the wait (and the run only with
     * {@code stopOnCancel}); the end of the session makes it answer at once.
     */
    private CallToolResult waitForRun(Call call, BrokerClient c, String handle, long waitSeconds, Long stdoutOffset,
            Long stderrOffset, int maxChars, boolean stopOnCancel, String hint) throws ToolFailure, InterruptedException {
        long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
        Message state = null;
        boolean toldPending = false;
        waiting.add(c);
        try (InFlightRequests.Registration r = call.onCancel(() -> {
            if (stopOnCancel) {
                stopInBackground(handle);
            }
            c.close();
        })) {
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                long slice = ending || call.cancelled() || left <= 0 ? 0
                        : Math.min(left, call.progressToken == null ? MAX_DAEMON_WAIT_MS : progressIntervalMs);
                Message get = Message.of("run_get").with("handle", handle).with("wait_ms", slice)
                        .with("max_bytes", maxChars);
                if (stdoutOffset != null) {
                    get.with("stdout_offset", stdoutOffset);
                }
                if (stderrOffset != null) {
                    get.with("stderr_offset", stderrOffset);
                }
                try {
                    Trace.mark("daemon-run_get-sent");
                    state = c.call(get);
                    Trace.mark("daemon-run_get-answered");
                } catch (BrokerException e) {
                    if (call.cancelled()) {
                        return plainError("cancelled");   // not sent: a cancelled request gets no answer
                    }
                    if (ending) {
                        return lastLook(handle, stdoutOffset, stderrOffset, maxChars, hint);
                    }
                    if (e.code() == ErrorCode.NOT_FOUND || e instanceof DaemonUnavailableException) {
                        throw new ToolFailure(runFailure(e));
                    }
                    return daemonGone(handle, e);
                }
                String status = state.string("status", "");
                if ("pending_approval".equals(status) && !toldPending) {
                    toldPending = true;
                    call.notify(McpSchema.LoggingLevel.NOTICE, "run " + state.number("run_id", -1) + " waits for a"
                            + " human to approve it in `brokerctl approve`");
                }
                if (RunState.settled(status) || slice == 0) {
                    break;
                }
                call.progress(progress(state));
            }
        } catch (BrokerException e) {
            throw new ToolFailure("the daemon's answer could not be read (" + e.getMessage() + ")");
        } finally {
            waiting.remove(c);
            c.close();
        }
        return stateResult(state, hint, call);
    }

    /** The session is ending: one quick look on a fresh connection. */
    private CallToolResult lastLook(String handle, Long out, Long err, int maxChars, String hint) throws ToolFailure {
        Message get = Message.of("run_get").with("handle", handle).with("max_bytes", maxChars);
        if (out != null) {
            get.with("stdout_offset", out);
        }
        if (err != null) {
            get.with("stderr_offset", err);
        }
        try (BrokerClient c = daemon.connect()) {
            return stateResult(c.call(get), hint, null);
        } catch (BrokerException e) {
            throw new ToolFailure(runFailure(e));
        }
    }

    private CallToolResult stateResult(Message state, String hint, Call call) throws ToolFailure {
        try {
            Map<String, Object> s = RunState.structured(state, hint);
            if (call != null && RunState.settled(String.valueOf(s.get("status")))) {
                call.notify(McpSchema.LoggingLevel.INFO, "run " + s.get("run_number") + " " + s.get("status"));
            }
            return runResult(s);
        } catch (BrokerException e) {
            throw new ToolFailure("the daemon's answer could not be read (" + e.getMessage() + ")");
        }
    }

    /**
     * The connection broke while waiting: the daemon stopped or died, and a run dies with it
     * (runs are held in its memory and contained to its life).
     */
    private CallToolResult daemonGone(String handle, BrokerException e) {
        log.warn("lost the daemon while waiting on a run: " + e.getMessage());
        Map<String, Object> s = emptyRun("daemon_stopped", handle, "the brokerctl daemon went away while this"
                + " call waited on the run (it stopped or crashed, and a run is killed with it); ask the human to"
                + " check it (brokerctl status) and start it again (brokerctl daemon), then call run_command again"
                + " if it is still needed");
        return runResult(s);
    }

    private void stopInBackground(String handle) {
        Thread t = new Thread(() -> {
            try (BrokerClient c = daemon.connect()) {
                c.call(Message.of("run_stop").with("handle", handle));
                log.info("stopped a run on cancellation (stop_on_cancel)");
            } catch (BrokerException e) {
                log.warn("could not stop a run on cancellation: " + e.getMessage());
            }
        }, "mcp-stop-on-cancel");
        t.setDaemon(true);
        t.start();
    }

    private static String progress(Message state) throws BrokerException {
        long n = state.number("run_id", -1);
        return switch (state.string("status", "")) {
            case "pending_approval" -> "run " + n + " is waiting for a human to approve it";
            case "running" -> {
                Message out = state.message("stdout");
                Message err = state.message("stderr");
                yield "run " + n + " is running (" + state.number("duration_ms", 0) / 1000 + " s, "
                        + ((out == null ? 0 : out.number("total_bytes", 0)) + (err == null ? 0 : err.number("total_bytes", 0)))
                        + " bytes of output)";
            }
            default -> "run " + n + " " + state.string("status", "");
        };
    }

    private static String runFailure(BrokerException e) {
        if (e.code() == ErrorCode.NOT_FOUND && !(e instanceof DaemonUnavailableException)) {
            return "the daemon has no such run (" + e.getMessage() + "); list_runs shows the runs it holds";
        }
        return Daemon.advice(e, null);
    }

    // ------------------------------------------------------------------ request_variable

    private CallToolResult requestVariable(Call call, Map<String, Object> args) throws ToolFailure, InterruptedException {
        String environment = (String) args.get("environment");
        String name = (String) args.get("name");
        VariableRequests.Request r = variables.current(environment, name);
        if (r == null) {
            BrokerClient client;
            try {
                client = daemon.connect();
            } catch (BrokerException e) {
                throw new ToolFailure(Daemon.advice(e, REQUEST_VARIABLE));
            }
            try {
                r = variables.start(client, environment, name, (String) args.get("description"));
            } catch (BrokerException e) {
                throw new ToolFailure(Daemon.advice(e, REQUEST_VARIABLE));
            }
            log.info("variable " + environment + "/" + name + " requested");
            // the daemon's first answer (exists, declined before, or now pending) comes at once
            r.awaitAnswered(FIRST_ANSWER_MS);
            if (r.status() == VariableRequests.Status.PENDING && r.requestId() >= 0) {
                call.notify(McpSchema.LoggingLevel.NOTICE, "variable " + name + " (" + environment + ") waits for the"
                        + " human to enter it in `brokerctl approve`");
            }
        }
        long wait = number(args, "wait_seconds", DEFAULT_WAIT_SECONDS);
        long deadline = System.nanoTime() + wait * 1_000_000_000L;
        long nextProgress = System.nanoTime() + progressIntervalMs * 1_000_000L;
        while (!r.settled() && !call.cancelled() && !ending) {
            long now = System.nanoTime();
            if (now >= deadline) {
                break;
            }
            long until = call.progressToken == null ? deadline : Math.min(deadline, nextProgress);
            r.awaitSettled(Math.max(1, (until - now) / 1_000_000L));
            if (call.progressToken != null && System.nanoTime() >= nextProgress && !r.settled()) {
                call.progress(r.progressMessage());
                nextProgress = System.nanoTime() + progressIntervalMs * 1_000_000L;
            }
        }
        if (!call.cancelled()) {
            r.reportedIfSettled();
        }
        if (r.status() == VariableRequests.Status.FAILED) {
            throw new ToolFailure(variableFailure(r.errorCode(), r.detail(), environment, name));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("status", r.status().wire());
        out.put("message", r.message());
        return ok(out, r.status().wire() + ": " + r.message());
    }

    private static String variableFailure(String code, String detail, String environment, String name) {
        if ("bad_request".equals(code) && detail.contains("unknown message type")) {
            return "this brokerctl daemon cannot take requests for variables (" + detail + "); ask the human to add"
                    + " it with: brokerctl set " + environment + " " + name;
        }
        if (ErrorCode.NOT_FOUND.wire().equals(code)) {
            return detail + "; call list_environments to see the environments, or ask the human to create it";
        }
        return Daemon.advice(code, detail, REQUEST_VARIABLE);
    }

    // ------------------------------------------------------------------ results

    private static long number(Map<String, Object> args, String key, long fallback) {
        Object v = args.get(key);
        return v instanceof Number n ? n.longValue() : fallback;
    }

    /** A run result with no run behind it (yet), for errors and a lost daemon. */
    private static Map<String, Object> emptyRun(String status, String handle, String message) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("status", status);
        s.put("run_id", handle);
        s.put("run_number", null);
        s.put("exit_code", null);
        for (String stream : List.of("stdout", "stderr")) {
            s.put(stream, "");
            s.put(stream + "_offset", 0L);
            s.put(stream + "_next_offset", 0L);
            s.put(stream + "_total_bytes", 0L);
            s.put(stream + "_truncated", false);
        }
        s.put("duration_ms", null);
        s.put("masked_count", null);
        s.put("message", message);
        return s;
    }

    private CallToolResult runResult(Map<String, Object> structured) {
        String status = String.valueOf(structured.get("status"));
        String text = RunState.summary(structured);
        if (outputInText) {
            for (String stream : List.of("stdout", "stderr")) {
                String out = String.valueOf(structured.get(stream));
                if (!out.isEmpty()) {
                    text += "\n--- " + stream + " ---\n" + out;
                }
            }
        }
        return CallToolResult.builder().content(List.of(new TextContent(text)))
                .structuredContent(structured).isError(RunState.isError(status)).build();
    }

    private static CallToolResult ok(Map<String, Object> structured, String summary) {
        return CallToolResult.builder().content(List.of(new TextContent(summary)))
                .structuredContent(structured).isError(false).build();
    }

    /**
     * A call that could not be carried out: {@code isError}, the message as text, and structured
     * content that still matches the tool's output schema (required fields neutral, {@code error}
     * set, a run's or request's {@code status} "error").
     */
    @SuppressWarnings("unchecked")
    private static CallToolResult error(ToolDef def, String message) {
        Map<String, Object> schema = def.outputSchema();
        Map<String, Object> properties = (Map<String, Object>) schema.get("properties");
        Map<String, Object> s = new LinkedHashMap<>();
        for (String name : (List<String>) schema.get("required")) {
            Map<String, Object> p = (Map<String, Object>) properties.get(name);
            s.put(name, neutral(name, p, message));
        }
        s.put("error", message);
        return CallToolResult.builder().content(List.of(new TextContent(message))).structuredContent(s)
                .isError(true).build();
    }

    private static Object neutral(String name, Map<String, Object> p, String message) {
        if (name.equals("message")) {
            return message;
        }
        if (p.get("enum") instanceof List<?> values) {
            return values.contains("error") ? "error" : values.get(0);
        }
        Object type = p.get("type");
        if (type instanceof List<?>) {
            return null;
        }
        return switch (String.valueOf(type)) {
            case "string" -> "";
            case "array" -> List.of();
            case "boolean" -> false;
            case "integer", "number" -> 0L;
            default -> null;
        };
    }

    /** For calls refused before they reach a tool (no output schema to match). */
    static CallToolResult plainError(String message) {
        return CallToolResult.builder().content(List.of(new TextContent(message))).isError(true).build();
    }

    /** A {@code $NAME} in argv that no shell will expand. */
    static final class DollarHint {

        private static final Set<String> SHELLS = Set.of("sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish",
                "busybox");
        private static final Pattern VAR = Pattern.compile("\\$(?:\\{([A-Za-z_][A-Za-z0-9_]*)\\}|([A-Za-z_][A-Za-z0-9_]*))");

        private DollarHint() {
        }

        /**
         * The hint, or null. {@code names}: the variables asked for, or null for all (then any
         * {@code $NAME} counts).
         */
        static String of(List<String> argv, List<String> names) {
            for (String a : argv) {
                String base = a.substring(a.lastIndexOf('/') + 1);
                if (SHELLS.contains(base)) {
                    return null;
                }
            }
            List<String> found = new ArrayList<>();
            for (String a : argv) {
                Matcher m = VAR.matcher(a);
                while (m.find()) {
                    String n = m.group(1) != null ? m.group(1) : m.group(2);
                    if ((names == null || names.contains(n)) && !found.contains(n)) {
                        found.add(n);
                    }
                }
            }
            if (found.isEmpty()) {
                return null;
            }
            StringBuilder script = new StringBuilder();
            for (String a : argv) {
                if (script.length() > 0) {
                    script.append(' ');
                }
                script.append(VAR.matcher(a).find() ? "\"" + a.replace("\"", "\\\"") + "\"" : quote(a));
            }
            String list = String.join(", ", found.stream().map(n -> "$" + n).toList());
            return "the command's arguments contain " + list + ", but no shell runs them, so the command receives"
                    + " the text literally; the value is only in its"
                    + " environment. To expand it, run through a shell: [\"sh\", \"-c\", "
                    + jsonString(script.toString()) + "]";
        }

        private static String quote(String a) {
            return a.matches("[A-Za-z0-9_./:=@%+-]+") ? a : "'" + a.replace("'", "'\\''") + "'";
        }

        private static String jsonString(String s) {
            return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        }
    }
}

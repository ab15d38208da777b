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
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.TextContent;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import io.modelcontextprotocol.spec.McpSchema.ToolAnnotations;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tools: their schemas, descriptions and annotations, and the handlers that turn a call into
 * daemon messages. Every failure an agent can cause or meet (a bad argument, a locked vault, a
 * dead daemon) becomes an {@code isError} result saying what to do next; nothing here sees a
 * secret value, only names, argv and masked output.
 */
final class BrokerTools {

    static final String BROKER_STATUS = "broker_status";
    static final String LIST_ENVIRONMENTS = "list_environments";
    static final String LIST_VARIABLES = "list_variables";
    static final String RUN_COMMAND = "run_command";
    static final String GET_RUN = "get_run";
    static final String STOP_RUN = "stop_run";
    static final String REQUEST_VARIABLE = "request_variable";

    static final List<String> NAMES = List.of(BROKER_STATUS, LIST_ENVIRONMENTS, LIST_VARIABLES, RUN_COMMAND, GET_RUN,
            STOP_RUN, REQUEST_VARIABLE);

    static final int DEFAULT_WAIT_SECONDS = 50;
    static final int MAX_WAIT_SECONDS = 600;
    /** How long stop_run waits for the daemon to confirm. */
    static final long STOP_CONFIRM_MS = 10_000;

    static final String INSTRUCTIONS = String.join("\n",
            "brokerctl runs commands with secrets (API keys, tokens) that you never see.",
            "Workflow: list_environments -> list_variables {environment} (names and descriptions only) ->"
                    + " run_command {environment, command: [argv...], reason}. The daemon injects the values into"
                    + " the command's environment and returns its output with every value masked as [MASKED:NAME].",
            "Values are never shown to you; do not try to print or extract them.",
            "A human may have to approve a run: a run_command result with status 'pending' or 'running' is not a"
                    + " failure; call get_run {run_id} to keep waiting, stop_run to stop it.",
            "If a variable you need does not exist, request_variable asks the human to add it.",
            "If a tool says the daemon is not running or the vault is locked, ask the human to run the command it"
                    + " names (brokerctl daemon, brokerctl unlock); broker_status checks again.");

    /** A tool and what to do when it is called. */
    private record ToolDef(Tool tool, Map<String, Object> inputSchema, Handler handler) {
    }

    @FunctionalInterface
    private interface Handler {
        CallToolResult handle(Call call, Map<String, Object> args) throws ToolFailure, InterruptedException;
    }

    private final Daemon daemon;
    private final Runs runs;
    private final VariableRequests variables;
    private final InFlightRequests inFlight;
    private final McpJsonMapper json;
    private final McpLog log;
    private final long progressIntervalMs;
    private final List<ToolDef> tools;

    /**
     * @param progressInterval how often a waiting call reports progress
     */
    BrokerTools(Daemon daemon, Runs runs, VariableRequests variables, InFlightRequests inFlight, McpJsonMapper json,
            McpLog log, Duration progressInterval) {
        this.daemon = daemon;
        this.runs = runs;
        this.variables = variables;
        this.inFlight = inFlight;
        this.json = json;
        this.log = log;
        this.progressIntervalMs = progressInterval.toMillis();
        this.tools = definitions();
    }

    List<SyncToolSpecification> specifications() {
        List<SyncToolSpecification> specs = new ArrayList<>();
        for (ToolDef d : tools) {
            specs.add(new SyncToolSpecification(d.tool(), (exchange, request) -> invoke(d, exchange, request)));
        }
        return specs;
    }

    // ------------------------------------------------------------------ definitions

    private List<ToolDef> definitions() {
        Map<String, Object> environment = with(string("Environment name, as list_environments shows it: 1-63"
                + " characters of a-z, 0-9, '_' and '-', starting with a letter or digit"),
                "pattern", "^[a-z0-9][a-z0-9_-]{0,62}$");
        Map<String, Object> variableName = with(string("Variable name: 1-128 characters of A-Z, a-z, 0-9 and '_',"
                + " not starting with a digit"), "pattern", "^[A-Za-z_][A-Za-z0-9_]{0,127}$");
        Map<String, Object> runId = new LinkedHashMap<>();
        runId.put("type", List.of("integer", "string"));
        runId.put("description", "The run_id that run_command returned");
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
                "policy", string("'auto': runs start without asking; 'prompt': a human approves each run"),
                "variable_count", integer("How many variables it holds")));
        Map<String, Object> environmentsOut = result(props(
                "environments", arrayOf(environmentItem, "The environments")));
        optionalDamaged(environmentsOut);
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
        optionalDamaged(variablesOut);
        defs.add(def(LIST_VARIABLES, "List variables",
                "List the variables of one environment: name, description and last update; never values. Pass"
                        + " the names a command needs as run_command's `variables` (without it, all of them are"
                        + " injected). If one you need is missing, use request_variable.",
                object(props("environment", environment), "environment"), variablesOut,
                annotations("List variables", true, false, true, false), this::listVariables));

        defs.add(def(RUN_COMMAND, "Run a command with secrets",
                "Run a command with an environment's secret variables in its environment, through the brokerctl"
                        + " daemon. The command starts from argv, without a shell (for pipes, redirection or"
                        + " $VARIABLES use [\"sh\", \"-c\", \"...\"]), in `cwd`. You never see the values: the output"
                        + " comes back with each value masked as [MASKED:NAME], the first 16 KiB and last 48 KiB of"
                        + " each stream. Give a `reason`: the human reads it when approving. With a 'prompt' policy"
                        + " the run waits for a human's approval. This call waits up to wait_seconds; if the status"
                        + " is 'pending' or 'running', call get_run with the run_id to keep waiting. Keep"
                        + " wait_seconds below your client's request timeout: cancelling this call stops the run.",
                object(props(
                        "environment", environment,
                        "command", with(with(arrayOf(string("An argument"),
                                "The command and its arguments, e.g. [\"npm\", \"test\"]"), "minItems", 1), "maxItems", 4096),
                        "cwd", string("Absolute directory to run in (default: this server's working directory)"),
                        "variables", with(arrayOf(variableName, "Names of the variables to inject (default: all of"
                                + " the environment's); fewer names make an easier decision for the human"), "maxItems", 1000),
                        "reason", with(with(string("Why this run is needed, in one sentence; shown to the human who"
                                + " approves it"), "minLength", 1), "maxLength", 2000),
                        "timeout_seconds", with(with(integer("Kill the command (and everything it started) after"
                                + " this many seconds (default: no limit)"), "minimum", 1), "maximum", 7 * 24 * 3600),
                        "wait_seconds", waitSchema("finish")),
                        "environment", "command", "reason"),
                runResult, annotations("Run a command with secrets", false, true, false, true), this::runCommand));

        defs.add(def(GET_RUN, "Get a run",
                "Get the state and masked output of a run that run_command started in this session, waiting up to"
                        + " wait_seconds for it to finish. Use it to keep waiting on a run whose status is 'pending'"
                        + " (awaiting a human's approval) or 'running' (output so far is included). Cancelling this"
                        + " call stops the run.",
                object(props("run_id", runId, "wait_seconds", waitSchema("finish")), "run_id"),
                runResult, annotations("Get a run", true, false, true, false), this::getRun));

        defs.add(def(STOP_RUN, "Stop a run",
                "Stop a run that run_command started in this session: a running command is killed together with"
                        + " every process it started; a run still waiting for approval is withdrawn. Returns the"
                        + " run's final state. Stopping a run that has ended does nothing.",
                object(props("run_id", runId), "run_id"),
                runResult, annotations("Stop a run", false, true, true, false), this::stopRun));

        defs.add(def(REQUEST_VARIABLE, "Ask the human for a new variable",
                "Ask the human to add a variable that does not exist yet (check list_variables first). The human"
                        + " types the value into their brokerctl console and it goes straight into the vault; you"
                        + " never see it. Say in `description` what the value is and where the human finds it. Waits"
                        + " up to wait_seconds; if the status is 'pending', call again with the same environment and"
                        + " name to keep waiting (it does not ask twice).",
                object(props(
                        "environment", environment,
                        "name", variableName,
                        "description", with(with(string("What the value is and where to find it, e.g. 'Stripe test"
                                + " secret key (Dashboard > Developers > API keys)'; shown to the human and stored"
                                + " with the variable"), "minLength", 1), "maxLength", 500),
                        "wait_seconds", waitSchema("answer")),
                        "environment", "name", "description"),
                result(props(
                        "status", with(string("provided | declined | timed_out | pending"), "enum",
                                List.of("provided", "declined", "timed_out", "pending")),
                        "message", string("What happened and what to do next"))),
                annotations("Ask the human for a new variable", false, false, false, false), this::requestVariable));
        return List.copyOf(defs);
    }

    private static Map<String, Object> runResultSchema() {
        Map<String, Object> runIdOut = new LinkedHashMap<>();
        runIdOut.put("type", List.of("integer", "string"));
        runIdOut.put("description", "The daemon's run id (the number the human sees), or a local id while the"
                + " daemon has not answered");
        return result(props(
                "status", with(string("completed: the command ran and exited; denied: a human refused it;"
                        + " timed_out: the command hit its timeout, or nobody approved in time; pending: waiting for"
                        + " approval; running: still running; failed_to_start: it could not start (see message)"),
                        "enum", List.of("completed", "denied", "timed_out", "pending", "running", "failed_to_start")),
                "run_id", runIdOut,
                "exit_code", nullable("integer", "The command's exit code; null until it exits"),
                "stdout", string("Masked standard output so far"),
                "stderr", string("Masked standard error so far"),
                "stdout_truncated", bool("Whether the middle of stdout was left out (more than 64 KiB)"),
                "stderr_truncated", bool("Whether the middle of stderr was left out (more than 64 KiB)"),
                "duration_ms", nullable("integer", "How long the command ran, in milliseconds; null before it started"),
                "masked_count", nullable("integer", "How many secret values were masked in the output; null before"
                        + " it exits"),
                "message", string("What happened and what to do next")));
    }

    private static Map<String, Object> waitSchema(String what) {
        return with(with(integer("How many seconds to wait for it to " + what + " before returning (default "
                + DEFAULT_WAIT_SECONDS + ", 0 returns at once)"), "minimum", 0), "maximum", MAX_WAIT_SECONDS);
    }

    @SuppressWarnings("unchecked")
    private static void optionalDamaged(Map<String, Object> schema) {
        ((Map<String, Object>) schema.get("properties")).put("damaged", arrayOf(string("A damaged entry"),
                "Present only when some entries failed the vault's integrity check; tell the human"));
        List<String> required = new ArrayList<>((List<String>) schema.get("required"));
        required.remove("damaged");
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
        return new ToolDef(tool, input, handler);
    }

    // ------------------------------------------------------------------ dispatch

    private CallToolResult invoke(ToolDef def, McpSyncServerExchange exchange, CallToolRequest request) {
        String name = def.tool().name();
        if (exchange.getClientInfo() != null) {
            daemon.agent(exchange.getClientInfo().name(), exchange.getClientInfo().version());
        }
        Map<String, Object> args = request.arguments() == null ? Map.of() : request.arguments();
        List<String> problems = Schema.validate(def.inputSchema(), args);
        if (!problems.isEmpty()) {
            log.info("tool " + name + ": invalid arguments (" + problems.size() + ")");
            return error("invalid arguments for " + name + ": " + String.join("; ", problems)
                    + "; see the tool's input schema");
        }
        Call call = new Call(exchange, request);
        log.info("tool " + name);
        try {
            return def.handler().handle(call, args);
        } catch (ToolFailure e) {
            log.info("tool " + name + " failed: " + e.getMessage());
            return error(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error("the brokerctl MCP server is shutting down; call " + name + " again when it is back");
        } catch (RuntimeException e) {
            log.warn("tool " + name + ": unexpected " + e);
            return error("internal error in the brokerctl MCP server (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + "); try again, and if it persists"
                    + " ask the human to check its log (stderr of brokerctl mcp)");
        }
    }

    /** The result for a {@code tools/call} the SDK refused before reaching a handler. */
    static CallToolResult refusedCall(String toolName, McpSchema.JSONRPCResponse.JSONRPCError error) {
        if (toolName == null || !NAMES.contains(toolName)) {
            return error("unknown tool '" + (toolName == null ? "" : Schema.printable(toolName))
                    + "'; this server's tools are: " + String.join(", ", NAMES));
        }
        return error("the call to " + toolName + " could not be read (" + error.message()
                + "); send {\"name\": \"" + toolName + "\", \"arguments\": {...}} matching the tool's input schema");
    }

    /** One tool call: its exchange, progress token and JSON-RPC request (for cancellation). */
    private final class Call {
        private final McpSyncServerExchange exchange;
        private final Object progressToken;
        private final Object requestKey;
        private final long startNanos = System.nanoTime();
        private double lastProgress;

        Call(McpSyncServerExchange exchange, CallToolRequest request) {
            this.exchange = exchange;
            this.progressToken = request.progressToken();
            this.requestKey = exchange.transportContext() == null ? null
                    : exchange.transportContext().get(InFlightRequests.CONTEXT_KEY);
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
                exchange.progressNotification(new McpSchema.ProgressNotification(progressToken, progress, null, message));
            } catch (RuntimeException e) {
                log.debug("progress notification failed: " + e);
            }
        }
    }

    /** Waits for {@code w} up to {@code waitSeconds}, reporting progress while it waits. */
    private void await(Waitable w, long waitSeconds, Call call) throws InterruptedException {
        long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
        long nextProgress = System.nanoTime() + progressIntervalMs * 1_000_000L;
        while (!w.settled() && !call.cancelled()) {
            long now = System.nanoTime();
            if (now >= deadline) {
                return;
            }
            long until = call.progressToken == null ? deadline : Math.min(deadline, nextProgress);
            w.awaitSettled(Math.max(1, (until - now) / 1_000_000L));
            if (call.progressToken != null && System.nanoTime() >= nextProgress && !w.settled()) {
                call.progress(w.progressMessage());
                nextProgress = System.nanoTime() + progressIntervalMs * 1_000_000L;
            }
        }
    }

    // ------------------------------------------------------------------ tools

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
        } catch (BrokerException e) {
            throw new ToolFailure(Daemon.advice(e, BROKER_STATUS));
        }
        return ok(out);
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
        return ok(out);
    }

    private CallToolResult listVariables(Call call, Map<String, Object> args) throws ToolFailure {
        String environment = (String) args.get("environment");
        Message reply = callDaemon(Message.of("list_variables").with("environment", environment), LIST_VARIABLES);
        List<Object> items = new ArrayList<>();
        try {
            for (Message v : reply.messages("variables")) {
                // names and metadata only, whatever else a daemon might send
                Map<String, Object> item = new LinkedHashMap<>();
                item.put("name", v.string("name"));
                item.put("description", v.string("description", ""));
                item.put("updated_at", v.string("updated_at", ""));
                items.add(item);
            }
        } catch (BrokerException e) {
            throw new ToolFailure("the daemon's list of variables could not be read (" + e.getMessage() + ")");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("environment", environment);
        out.put("variables", items);
        damaged(reply, out);
        return ok(out);
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
        long timeoutMs = number(args, "timeout_seconds", 0) * 1000L;
        long wait = number(args, "wait_seconds", DEFAULT_WAIT_SECONDS);

        Message request = Message.of("run").with("environment", environment).with("argv", command)
                .with("cwd", cwd).with("env", Map.of());   // the agent's own environment stays out: runs start from the daemon's
        if (names != null) {
            request.with("variables", names);
        }
        request.with("reason", args.get("reason")).with("timeout_ms", timeoutMs).with("masking", true)
                .with("stdin", false);

        BrokerClient client;
        try {
            client = daemon.connect();
        } catch (BrokerException e) {
            throw new ToolFailure(Daemon.advice(e, RUN_COMMAND));
        }
        RunRecord run = new RunRecord(runs.nextLocalId(), client, log, runs::alias, timeoutMs);
        if (!runs.add(run)) {
            run.close();
            throw new ToolFailure("the brokerctl MCP server is shutting down; call run_command again when it is back");
        }
        log.info("run " + run.localId() + " requested: environment " + environment + ", argv of " + command.size()
                + ", " + (names == null ? "all variables" : names.size() + " variable(s)"));
        try {
            run.start(request, runs.readers());
        } catch (BrokerException e) {
            run.close();
            throw new ToolFailure(Daemon.advice(e, RUN_COMMAND));
        }
        try (InFlightRequests.Registration cancelStops = call.onCancel(run::stop)) {
            await(run, wait, call);
        }
        return runResult(run.view());
    }

    private CallToolResult getRun(Call call, Map<String, Object> args) throws ToolFailure, InterruptedException {
        RunRecord run = findRun(args.get("run_id"));
        try (InFlightRequests.Registration cancelStops = call.onCancel(run::stop)) {
            await(run, number(args, "wait_seconds", DEFAULT_WAIT_SECONDS), call);
        }
        return runResult(run.view());
    }

    private CallToolResult stopRun(Call call, Map<String, Object> args) throws ToolFailure, InterruptedException {
        RunRecord run = findRun(args.get("run_id"));
        if (!run.stop()) {
            RunRecord.RunView v = run.view();
            return runResult(withMessage(v, "run " + v.runId() + " had already ended; " + v.message()));
        }
        run.awaitSettled(STOP_CONFIRM_MS);
        RunRecord.RunView v = run.view();
        if (!run.settled()) {
            v = withMessage(v, "asked the daemon to stop run " + v.runId() + ", which has not confirmed yet;"
                    + " call get_run with run_id " + v.runId() + " to see the outcome");
        }
        return runResult(v);
    }

    private static RunRecord.RunView withMessage(RunRecord.RunView v, String message) {
        return new RunRecord.RunView(v.status(), v.runId(), v.exitCode(), v.stdout(), v.stderr(), v.stdoutTruncated(),
                v.stderrTruncated(), v.durationMs(), v.maskedCount(), message);
    }

    private RunRecord findRun(Object runId) throws ToolFailure {
        RunRecord run = runs.find(runId);
        if (run == null) {
            List<String> ids = runs.ids();
            throw new ToolFailure("there is no run " + Schema.printable(String.valueOf(runId)) + " in this MCP session"
                    + (ids.isEmpty() ? "; start one with run_command"
                    : "; its latest runs are: " + String.join(", ", ids)));
        }
        return run;
    }

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
        }
        await(r, number(args, "wait_seconds", DEFAULT_WAIT_SECONDS), call);
        if (!call.cancelled()) {
            r.reportedIfSettled();
        }
        if (r.status() == VariableRequests.Status.FAILED) {
            throw new ToolFailure(variableFailure(r.errorCode(), r.detail(), environment, name));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("status", r.status().wire());
        out.put("message", r.message());
        return ok(out);
    }

    private static String variableFailure(String code, String detail, String environment, String name) {
        if ("bad_request".equals(code) && detail.contains("unknown message type")) {
            return "this brokerctl daemon cannot take requests for variables (" + detail + "); ask the human to add"
                    + " it with: brokerctl set " + environment + " " + name;
        }
        if ("conflict".equals(code)) {
            return detail + (detail.contains("run_command") ? "" : "; use it with run_command");
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

    private CallToolResult runResult(RunRecord.RunView view) {
        Map<String, Object> structured = view.toMap();
        return CallToolResult.builder().content(List.of(new TextContent(toJson(structured))))
                .structuredContent(structured).isError(view.status() == RunRecord.Status.FAILED_TO_START).build();
    }

    private CallToolResult ok(Map<String, Object> structured) {
        return CallToolResult.builder().content(List.of(new TextContent(toJson(structured))))
                .structuredContent(structured).isError(false).build();
    }

    static CallToolResult error(String message) {
        return CallToolResult.builder().content(List.of(new TextContent(message))).isError(true).build();
    }

    private String toJson(Map<String, Object> structured) {
        try {
            return json.writeValueAsString(structured);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a tool result as JSON", e);
        }
    }
}

package dev.brokerctl.mcp;

import static dev.brokerctl.mcp.McpTestSession.isError;
import static dev.brokerctl.mcp.McpTestSession.structured;
import static dev.brokerctl.mcp.McpTestSession.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tools against a scripted daemon: what goes on the wire, and what the agent gets back. */
class RunToolsTest {

    @TempDir
    Path dir;

    private FakeDaemon daemon;
    private McpTestSession session;

    @BeforeEach
    void start() throws Exception {
        Path socket = dir.resolve("d.sock");
        daemon = new FakeDaemon(socket);
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/bin:/bin");
        env.put("HOME", "/home/agent");
        env.put("BROKERCTL_HOME", "/somewhere");
        env.put("BROKERCTL_SOCKET", socket.toString());
        session = McpTestSession.start(socket, env, Duration.ofMillis(100));
        session.initialize();
    }

    @AfterEach
    void stop() throws Exception {
        session.close();
        daemon.close();
    }

    private static Map<String, Object> run(String program, Object... more) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("environment", "dev");
        args.put("command", List.of(program, "--flag"));
        args.put("variables", List.of("API_KEY"));
        args.put("reason", "run the tests");
        for (int i = 0; i < more.length; i += 2) {
            args.put((String) more[i], more[i + 1]);
        }
        return args;
    }

    @Test
    void listTools_passNamesAndMetadataOnly() throws Exception {
        Map<String, Object> envs = structured(session.callTool("list_environments", Map.of()));
        assertEquals(List.of(Map.of("name", "dev", "policy", "auto", "variable_count", 2)), envs.get("environments"));
        assertFalse(envs.containsKey("damaged"));
        Map<String, Object> vars = structured(session.callTool("list_variables", Map.of("environment", "dev")));
        assertEquals("dev", vars.get("environment"));
        assertEquals(List.of(Map.of("name", "API_KEY", "description", "the key", "updated_at", "2026-01-01T00:00:00Z")),
                vars.get("variables"));
        assertFalse(vars.toString().contains(FakeDaemon.VALUE), "the value the daemon sent reached the agent");
        assertFalse(session.log().contains(FakeDaemon.VALUE), "the value the daemon sent reached the log");

        Map<String, Object> missing = session.callTool("list_variables", Map.of("environment", "prod"));
        assertTrue(isError(missing));
        assertTrue(text(missing).contains("environment 'prod' does not exist") && text(missing).contains("list_environments"),
                text(missing));

        daemon.locked = true;
        Map<String, Object> locked = session.callTool("list_environments", Map.of());
        assertTrue(isError(locked));
        assertTrue(text(locked).contains("ask the human to run: brokerctl unlock"), text(locked));
        Map<String, Object> status = session.callTool("broker_status", Map.of());
        assertFalse(isError(status));
        assertEquals(true, structured(status).get("running"));
        assertEquals(true, structured(status).get("locked"));
        assertEquals(2, structured(status).get("pending_approvals"));
        assertTrue(((String) structured(status).get("message")).contains("brokerctl unlock"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void runCommand_sendsADetachedRunRequest_andReturnsMaskedOutput() throws Exception {
        Map<String, Object> result = session.callTool("run_command",
                run("echo-ok", "variables", List.of("API_KEY"), "cwd", "/tmp", "timeout_seconds", 30));
        assertFalse(isError(result), result.toString());
        Map<String, Object> r = structured(result);
        assertEquals("completed", r.get("status"));
        assertEquals(7, r.get("run_number"), "the daemon's run id, as the human sees it");
        String handle = (String) r.get("run_id");
        assertTrue(handle.matches("r_[a-z2-7]{26}"), handle);
        assertEquals(0, r.get("exit_code"));
        assertEquals("hello [MASKED:API_KEY]\n", r.get("stdout"));
        assertEquals("a warning\n", r.get("stderr"));
        assertEquals(false, r.get("stdout_truncated"));
        assertEquals(23, r.get("stdout_next_offset"));
        assertEquals(1, r.get("masked_count"));
        assertTrue(((String) r.get("message")).contains("exited with code 0"), r.toString());
        String text = text(result);
        assertTrue(text.startsWith("run 7 completed (exit code 0)"), text);
        assertFalse(text.contains("hello") || text.contains("\"status\""), "a summary, not the output or JSON: " + text);

        Message hello = daemon.next("hello");
        assertTrue(((Map<String, Object>) hello.asMap().get("client")).get("name").toString().contains("test-agent"),
                "the human sees which agent asks: " + hello.asMap());
        Message sent = daemon.next("run");
        assertEquals("dev", sent.string("environment"));
        assertEquals(List.of("echo-ok", "--flag"), sent.strings("argv"));
        assertEquals("/tmp", sent.string("cwd"));
        assertEquals(List.of("API_KEY"), sent.strings("variables"));
        assertEquals("run the tests", sent.string("reason"));
        assertEquals(30_000, sent.number("timeout_ms", -1));
        assertTrue(sent.bool("masking", false));
        assertTrue(sent.bool("detach", false), "the run belongs to the daemon");
        assertFalse(sent.bool("stdin", true));
        assertEquals(Map.of(), sent.stringMap("env"), "the agent's environment stays out: a run starts from the daemon's");

        assertEquals(r, structured(session.callTool("get_run", Map.of("run_id", handle))));
        assertFalse(session.log().contains("echo-ok"), "argv stays out of the log:\n" + session.log());
    }

    @Test
    void runCommand_withoutVariables_isRefused_namingListVariables() throws Exception {
        Map<String, Object> args = run("echo-ok");
        args.remove("variables");
        Map<String, Object> result = session.callTool("run_command", args);
        assertTrue(isError(result));
        assertTrue(text(result).contains("list_variables") && text(result).contains("[]"), text(result));
        assertEquals("error", structured(result).get("status"));
    }

    @Test
    void runCommand_allOrNone_andTheServersDirectory() throws Exception {
        session.callTool("run_command", run("echo-ok", "variables", List.of("*")));
        Message sent = daemon.next("run");
        assertFalse(sent.has("variables"), "[\"*\"] is all: absent on the wire");
        assertEquals(Path.of("").toAbsolutePath().toString(), sent.string("cwd"));
        session.callTool("run_command", run("echo-ok", "variables", List.of()));
        assertEquals(List.of(), daemon.next("run").strings("variables"), "[] is none");
        Map<String, Object> both = session.callTool("run_command", run("echo-ok", "variables", List.of("*", "API_KEY")));
        assertTrue(isError(both));
        assertTrue(text(both).contains("either"), text(both));
    }

    @Test
    void runCommand_thatCannotStart_isFailedToStart_andAnError() throws Exception {
        Map<String, Object> result = session.callTool("run_command", run("missing"));
        assertTrue(isError(result));
        Map<String, Object> r = structured(result);
        assertEquals("failed_to_start", r.get("status"));
        assertNull(r.get("exit_code"));
        assertTrue(((String) r.get("message")).contains("missing: command not found in PATH"), r.toString());
    }

    @Test
    void approvalTimeout_isApprovalTimedOut_andNotAnError() throws Exception {
        Map<String, Object> result = session.callTool("run_command", run("approval-times-out"));
        assertFalse(isError(result));
        Map<String, Object> r = structured(result);
        assertEquals("approval_timed_out", r.get("status"));
        assertTrue(((String) r.get("message")).contains("nobody approved run 7 in time"), r.toString());
    }

    @Test
    void pendingRun_returnsAfterWaitSeconds_thenStopRunWithdrawsIt() throws Exception {
        Map<String, Object> r = structured(session.callTool("run_command", run("wait-approval", "wait_seconds", 0)));
        assertEquals("pending_approval", r.get("status"));
        Map<String, Object> waited = structured(session.callTool("get_run", Map.of("run_id", r.get("run_id"),
                "wait_seconds", 1)));
        assertEquals("pending_approval", waited.get("status"));
        assertTrue(((String) waited.get("message")).contains("waiting for a human to approve it"), waited.toString());

        Map<String, Object> stopped = structured(session.callTool("stop_run", Map.of("run_id", r.get("run_id"))));
        assertEquals("stopped", stopped.get("status"));
        assertTrue(((String) stopped.get("message")).contains("withdrawn"), stopped.toString());
        assertEquals(r.get("run_id"), daemon.stops.poll());

        Map<String, Object> again = structured(session.callTool("stop_run", Map.of("run_id", r.get("run_id"))));
        assertTrue(((String) again.get("message")).contains("had already ended"), again.toString());
    }

    @Test
    @SuppressWarnings("unchecked")
    void progressIsReportedWhileWaiting_whenTheCallHasAToken() throws Exception {
        Map<String, Object> result = session.callTool("run_command", run("long", "wait_seconds", 1), "tok-1");
        assertEquals("running", structured(result).get("status"));
        assertEquals("working\n", structured(result).get("stdout"), "output so far");
        List<Map<String, Object>> progress = session.notifications().stream()
                .filter(n -> "notifications/progress".equals(n.get("method"))).toList();
        assertTrue(progress.size() >= 3, "every 100 ms for a second: " + progress);
        double last = -1;
        for (Map<String, Object> n : progress) {
            Map<String, Object> p = (Map<String, Object>) n.get("params");
            assertEquals("tok-1", p.get("progressToken"));
            double value = ((Number) p.get("progress")).doubleValue();
            assertTrue(value > last, "progress increases: " + progress);
            last = value;
            assertTrue(((String) p.get("message")).contains("run 7"), p.toString());
        }
        Map<String, Object> stopped = structured(session.callTool("stop_run",
                Map.of("run_id", structured(result).get("run_id"))));
        assertEquals("stopped", stopped.get("status"));
        assertEquals(137, stopped.get("exit_code"));
        assertTrue(((String) stopped.get("message")).contains("stopped by stop_run"), stopped.toString());
    }

    @Test
    void cancellingAWaitingCall_stopsWaitingOnly_andGetsNoResponse() throws Exception {
        session.send(McpTestSession.requestMessage("call-1", "tools/call",
                McpTestSession.callParams("run_command", run("long", "wait_seconds", 60), null)));
        daemon.next("run_get");
        session.notify("notifications/cancelled", Map.of("requestId", "call-1", "reason", "the user pressed Esc"));
        String handle = daemon.runs.keySet().iterator().next();
        // the next request is answered, the run still runs, and nothing ever answers the cancelled one
        Map<String, Object> r = structured(session.callTool("get_run", Map.of("run_id", handle, "wait_seconds", 0)));
        assertEquals("running", r.get("status"));
        assertNull(session.next(Duration.ofMillis(500)));
        assertTrue(daemon.stops.isEmpty(), "no run_stop: cancelling only stops waiting");
        assertTrue(session.log().contains("cancelled request call-1"), session.log());
    }

    @Test
    void cancellingWithStopOnCancel_stopsTheRun() throws Exception {
        session.send(McpTestSession.requestMessage(77, "tools/call",
                McpTestSession.callParams("run_command", run("long", "wait_seconds", 60, "stop_on_cancel", true), null)));
        daemon.next("run_get");
        session.notify("notifications/cancelled", Map.of("requestId", 77));
        assertNotNull(daemon.stops.poll(20, java.util.concurrent.TimeUnit.SECONDS), "run_stop sent");
    }

    @Test
    void endOfStdin_answersACallStillWaiting() throws Exception {
        session.send(McpTestSession.requestMessage(5, "tools/call",
                McpTestSession.callParams("run_command", run("long", "wait_seconds", 60), null)));
        daemon.next("run_get");
        assertEquals(0, session.finish());
        Map<String, Object> answer = session.next(Duration.ofSeconds(5));
        assertNotNull(answer, "the waiting call was answered before the server exited");
        assertEquals(5, answer.get("id"));
        @SuppressWarnings("unchecked")
        Map<String, Object> sc = (Map<String, Object>) ((Map<String, Object>) answer.get("result")).get("structuredContent");
        assertEquals("running", sc.get("status"));
        assertTrue(daemon.stops.isEmpty(), "the run goes on in the daemon");
    }

    @Test
    void dollarVariableInArgvWithoutAShell_getsAHint() throws Exception {
        Map<String, Object> r = structured(session.callTool("run_command",
                run("echo-ok", "command", List.of("echo-ok", "Bearer $API_KEY"))));
        String hint = (String) r.get("hint");
        assertNotNull(hint, r.toString());
        assertTrue(hint.contains("$API_KEY") && hint.contains("[\"sh\", \"-c\""), hint);
        Map<String, Object> viaShell = structured(session.callTool("run_command",
                run("echo-ok", "command", List.of("sh", "-c", "echo-ok \"Bearer $API_KEY\""))));
        assertNull(viaShell.get("hint"), viaShell.toString());
        Map<String, Object> other = structured(session.callTool("run_command",
                run("echo-ok", "command", List.of("echo-ok", "$HOME"))));
        assertNull(other.get("hint"), "only requested variables: " + other);
    }

    @Test
    void nonObjectArguments_getAOneLineMessage() throws Exception {
        session.send(McpTestSession.requestMessage(9, "tools/call", Map.of("name", "list_variables", "arguments", "dev")));
        Map<String, Object> answer = session.next(Duration.ofSeconds(10));
        @SuppressWarnings("unchecked")
        Map<String, Object> result = (Map<String, Object>) answer.get("result");
        assertTrue(isError(result));
        String text = text(result);
        assertTrue(text.contains("must be a JSON object") && !text.contains("\n") && !text.contains("jackson"), text);
    }

    @Test
    void requestVariable_waitsForTheHuman_andASecondCallReattaches() throws Exception {
        Map<String, Object> args = Map.of("environment", "dev", "name", "STRIPE_KEY",
                "description", "Stripe test key", "wait_seconds", 1);
        Map<String, Object> first = structured(session.callTool("request_variable", args));
        assertEquals("pending", first.get("status"));
        assertTrue(((String) first.get("message")).contains("call request_variable again"), first.toString());
        Message sent = daemon.next("request_variable");
        assertEquals("STRIPE_KEY", sent.string("name"));
        assertEquals("Stripe test key", sent.string("description"));

        daemon.provideVariable.countDown();
        Map<String, Object> second = structured(session.callTool("request_variable", Map.of("environment", "dev",
                "name", "STRIPE_KEY", "description", "Stripe test key", "wait_seconds", 10)));
        assertEquals("provided", second.get("status"));
        assertTrue(((String) second.get("message")).contains("run_command"), second.toString());
        assertEquals(0, daemon.received.stream().filter(m -> m.type().equals("request_variable")).count(),
                "the second call waited on the first request instead of asking the human again");
    }

    @Test
    void requestVariable_forOneThatExists_saysExistsAtOnce() throws Exception {
        Map<String, Object> exists = session.callTool("request_variable", Map.of("environment", "dev",
                "name", "EXISTS", "description", "x", "wait_seconds", 0));
        assertFalse(isError(exists), exists.toString());
        assertEquals("exists", structured(exists).get("status"));
        assertTrue(text(exists).contains("already"), text(exists));
    }
}

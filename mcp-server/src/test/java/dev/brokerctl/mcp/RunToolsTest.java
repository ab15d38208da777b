package dev.brokerctl.mcp;

import static dev.brokerctl.mcp.McpTestSession.isError;
import static dev.brokerctl.mcp.McpTestSession.structured;
import static dev.brokerctl.mcp.McpTestSession.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
    void runCommand_sendsTheRunRequestAndReturnsMaskedOutput() throws Exception {
        Map<String, Object> result = session.callTool("run_command",
                run("echo-ok", "variables", List.of("API_KEY"), "cwd", "/tmp", "timeout_seconds", 30));
        assertFalse(isError(result), result.toString());
        Map<String, Object> r = structured(result);
        assertEquals("completed", r.get("status"));
        assertEquals(7, r.get("run_id"), "the daemon's run id, as the human sees it");
        assertEquals(0, r.get("exit_code"));
        assertEquals("hello [MASKED:API_KEY]\n", r.get("stdout"));
        assertEquals("a warning\n", r.get("stderr"));
        assertEquals(false, r.get("stdout_truncated"));
        assertEquals(12, r.get("duration_ms"));
        assertEquals(1, r.get("masked_count"));
        assertTrue(((String) r.get("message")).contains("exited with code 0"), r.toString());
        assertEquals(r, McpTestSession.JSON.readValue(text(result), Map.class));

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
        assertFalse(sent.bool("stdin", true));
        Map<String, String> env = sent.stringMap("env");
        assertEquals(Map.of(), env, "the agent's environment stays out: a run starts from the daemon's");

        // get_run on a finished run returns the same, by number or by string
        assertEquals(r, structured(session.callTool("get_run", Map.of("run_id", 7))));
        assertEquals(r, structured(session.callTool("get_run", Map.of("run_id", "7"))));
        assertFalse(session.log().contains("echo-ok"), "argv stays out of the log:\n" + session.log());
    }

    @Test
    void runCommand_withoutVariablesOrCwd_asksForAllInTheServersDirectory() throws Exception {
        session.callTool("run_command", run("echo-ok"));
        Message sent = daemon.next("run");
        assertFalse(sent.has("variables"), "absent means all");
        assertEquals(Path.of("").toAbsolutePath().toString(), sent.string("cwd"));
        assertEquals(0, sent.number("timeout_ms", -1));
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
    void approvalTimeout_isTimedOut() throws Exception {
        Map<String, Object> r = structured(session.callTool("run_command", run("approval-times-out")));
        assertEquals("timed_out", r.get("status"));
        assertEquals(12, r.get("run_id"));
        assertTrue(((String) r.get("message")).contains("nobody approved run 12 in time"), r.toString());
    }

    @Test
    void bigOutput_keepsHeadAndTail() throws Exception {
        Map<String, Object> r = structured(session.callTool("run_command", run("big")));
        assertEquals("completed", r.get("status"));
        assertEquals(3, r.get("exit_code"));
        assertEquals(true, r.get("stdout_truncated"));
        String out = (String) r.get("stdout");
        assertTrue(out.startsWith("a".repeat(OutputCapture.HEAD)), "head kept");
        assertTrue(out.endsWith("d".repeat(OutputCapture.TAIL)), "tail kept");
        assertTrue(out.contains("bytes of output omitted"));
    }

    @Test
    void pendingRun_returnsAfterWaitSeconds_thenStopRunWithdrawsIt() throws Exception {
        Map<String, Object> r = structured(session.callTool("run_command", run("wait-approval", "wait_seconds", 0)));
        if (r.get("run_id") instanceof String local) {
            // returned before the daemon's first answer: the local id works as well
            assertTrue(local.startsWith("local-"), local);
        }
        Map<String, Object> waited = structured(session.callTool("get_run", Map.of("run_id", r.get("run_id"),
                "wait_seconds", 1)));
        assertEquals("pending", waited.get("status"));
        assertEquals(8, waited.get("run_id"));
        assertTrue(((String) waited.get("message")).contains("waiting for a human to approve it"), waited.toString());

        Map<String, Object> stopped = structured(session.callTool("stop_run", Map.of("run_id", 8)));
        assertEquals("denied", stopped.get("status"));
        assertTrue(((String) stopped.get("message")).contains("withdrawn"), stopped.toString());
        assertEquals("cancel", daemon.cancels.poll());

        Map<String, Object> again = structured(session.callTool("stop_run", Map.of("run_id", 8)));
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
            assertTrue(((String) p.get("message")).contains("run 9"), p.toString());
        }
        Map<String, Object> stopped = structured(session.callTool("stop_run", Map.of("run_id", 9)));
        assertEquals("completed", stopped.get("status"));
        assertEquals(137, stopped.get("exit_code"));
        assertTrue(((String) stopped.get("message")).contains("stopped on request"), stopped.toString());
    }

    @Test
    void cancellingAWaitingCall_stopsTheRun_andGetsNoResponse() throws Exception {
        session.send(McpTestSession.requestMessage("call-1", "tools/call",
                McpTestSession.callParams("run_command", run("long", "wait_seconds", 60), null)));
        daemon.next("run");
        session.notify("notifications/cancelled", Map.of("requestId", "call-1", "reason", "the user pressed Esc"));
        assertEquals("cancel", daemon.cancels.poll(20, java.util.concurrent.TimeUnit.SECONDS));

        // the next request is answered, and nothing ever answers the cancelled one
        // the run's first id: the daemon's may not have been read yet when the cancel went out
        Map<String, Object> r = structured(session.callTool("get_run", Map.of("run_id", "local-1", "wait_seconds", 5)));
        assertEquals("completed", r.get("status"));
        assertEquals(9, r.get("run_id"));
        assertEquals(137, r.get("exit_code"));
        assertNull(session.next(Duration.ofMillis(500)));
        assertTrue(session.log().contains("cancelled request call-1"), session.log());
    }

    @Test
    void cancellingGetRun_stopsTheRunToo() throws Exception {
        Map<String, Object> r = structured(session.callTool("run_command", run("long", "wait_seconds", 0)));
        Object id = r.get("run_id");
        session.send(McpTestSession.requestMessage(77, "tools/call",
                McpTestSession.callParams("get_run", Map.of("run_id", id, "wait_seconds", 60), null)));
        // no pause: the cancellation follows the request on the same stream, so the server has read
        // the request first, and a cancellation that comes before its handler registered still counts
        session.notify("notifications/cancelled", Map.of("requestId", 77));
        assertEquals("cancel", daemon.cancels.poll(20, java.util.concurrent.TimeUnit.SECONDS));
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

        Map<String, Object> exists = session.callTool("request_variable", Map.of("environment", "dev",
                "name", "EXISTS", "description", "x"));
        assertTrue(isError(exists));
        assertTrue(text(exists).contains("already exists"), text(exists));
    }
}

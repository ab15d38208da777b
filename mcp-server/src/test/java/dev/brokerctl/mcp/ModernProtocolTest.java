package dev.brokerctl.mcp;

import static dev.brokerctl.mcp.McpTestSession.isError;
import static dev.brokerctl.mcp.McpTestSession.structured;
import static dev.brokerctl.mcp.McpTestSession.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MCP 2026-07-28 on the same stdio line as the 2025-11-25 session: no initialize, each request
 * with its protocol version and the client's capabilities in {@code _meta}; the same tools, with
 * the same results, as the session gives.
 */
class ModernProtocolTest {

    static final String VERSION = "2026-07-28";

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
        env.put("BROKERCTL_HOME", "/somewhere");
        env.put("BROKERCTL_SOCKET", socket.toString());
        session = McpTestSession.start(socket, env, Duration.ofMillis(100));
    }

    @AfterEach
    void stop() throws Exception {
        session.close();
        daemon.close();
    }

    /** The {@code _meta} every 2026-07-28 request carries, plus {@code more} (key, value, ...). */
    static Map<String, Object> meta(Object... more) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("io.modelcontextprotocol/protocolVersion", VERSION);
        m.put("io.modelcontextprotocol/clientCapabilities", Map.of());
        m.put("io.modelcontextprotocol/clientInfo", Map.of("name", "modern-agent", "version", "2.0"));
        for (int i = 0; i < more.length; i += 2) {
            m.put((String) more[i], more[i + 1]);
        }
        return m;
    }

    static Map<String, Object> callParams(String tool, Object arguments, Map<String, Object> meta) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("name", tool);
        p.put("arguments", arguments);
        p.put("_meta", meta);
        return p;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> result(String method, Map<String, Object> params) throws Exception {
        Map<String, Object> reply = session.request(method, params);
        assertNotNull(reply.get("result"), method + " failed at the JSON-RPC level: " + reply);
        Map<String, Object> result = (Map<String, Object>) reply.get("result");
        assertEquals("complete", result.get("resultType"), "every 2026-07-28 result says what it is: " + result);
        Map<String, Object> resultMeta = (Map<String, Object>) result.get("_meta");
        assertEquals("brokerctl", ((Map<String, Object>) resultMeta.get("io.modelcontextprotocol/serverInfo")).get("name"));
        return result;
    }

    private Map<String, Object> call(String tool, Map<String, Object> arguments, Map<String, Object> meta) throws Exception {
        return result("tools/call", callParams(tool, arguments, meta));
    }

    private static Map<String, Object> run(String program) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("environment", "dev");
        args.put("command", List.of(program));
        args.put("variables", List.of("API_KEY"));
        args.put("reason", "run the tests");
        return args;
    }

    @Test
    @SuppressWarnings("unchecked")
    void discover_isAnsweredWithoutInitialize_andSaysWhatThisServerSpeaks() throws Exception {
        Map<String, Object> d = result("server/discover", Map.of("_meta", meta()));
        assertEquals(List.of(VERSION), d.get("supportedVersions"));
        assertNotNull(((Map<String, Object>) d.get("capabilities")).get("tools"), d.toString());
        assertEquals(BrokerTools.INSTRUCTIONS, d.get("instructions"));
    }

    @Test
    void aVersionThisServerDoesNotSpeak_isRefusedNamingTheOnesItDoes() throws Exception {
        Map<String, Object> m = meta();
        m.put("io.modelcontextprotocol/protocolVersion", "2099-01-01");
        Map<String, Object> reply = session.request("tools/list", Map.of("_meta", m));
        @SuppressWarnings("unchecked")
        Map<String, Object> error = (Map<String, Object>) reply.get("error");
        assertNotNull(error, reply.toString());
        assertEquals(-32022, ((Number) error.get("code")).intValue(), error.toString());
        assertTrue(error.get("data").toString().contains(VERSION), error.toString());
    }

    @Test
    @SuppressWarnings("unchecked")
    void bothRevisionsOnOneLine_listTheSameTools_andGiveTheSameResults() throws Exception {
        Map<String, Object> modernTools = result("tools/list", Map.of("_meta", meta()));
        assertTrue(modernTools.containsKey("ttlMs") && modernTools.containsKey("cacheScope"), modernTools.toString());
        session.initialize();
        Map<String, Object> sessionTools = (Map<String, Object>) session.request("tools/list", Map.of()).get("result");
        List<Map<String, Object>> modern = (List<Map<String, Object>>) modernTools.get("tools");
        List<Map<String, Object>> legacy = (List<Map<String, Object>>) sessionTools.get("tools");
        assertEquals(BrokerTools.NAMES, modern.stream().map(t -> t.get("name")).toList());
        for (int i = 0; i < legacy.size(); i++) {
            for (String key : List.of("name", "title", "description", "inputSchema", "outputSchema", "annotations")) {
                assertEquals(legacy.get(i).get(key), modern.get(i).get(key), key + " of " + legacy.get(i).get("name"));
            }
        }

        Map<String, Object> vars = call("list_variables", Map.of("environment", "dev"), meta());
        assertFalse(isError(vars));
        assertEquals(structured(session.callTool("list_variables", Map.of("environment", "dev"))), structured(vars));
        assertFalse(vars.toString().contains(FakeDaemon.VALUE), "the value the daemon sent reached the agent");
        assertFalse(session.log().contains(FakeDaemon.VALUE), "the value the daemon sent reached the log");

        Map<String, Object> missing = call("list_variables", Map.of("environment", "prod"), meta());
        assertTrue(isError(missing));
        assertTrue(text(missing).contains("environment 'prod' does not exist"), text(missing));
        assertEquals("brokerctl mcp (modern-agent 2.0)", daemon.next("hello").message("client").string("name"),
                "the client's stated name reaches the daemon");
    }

    @Test
    void aRunWithAProgressTokenAndALogLevel_getsBothNotifications_onlyAsAsked() throws Exception {
        Map<String, Object> r = structured(call("run_command", run("echo-ok"), meta("progressToken", "t-1",
                "io.modelcontextprotocol/logLevel", "info")));
        assertEquals("completed", r.get("status"));
        assertEquals("hello [MASKED:API_KEY]\n", r.get("stdout"));
        List<Map<String, Object>> messages = of("notifications/message");
        assertEquals(1, messages.size(), session.notifications().toString());
        assertTrue(messages.get(0).toString().contains("run 7 completed"), messages.toString());

        call("run_command", run("echo-ok"), meta("io.modelcontextprotocol/logLevel", "warning"));
        call("run_command", run("echo-ok"), meta());
        assertEquals(1, of("notifications/message").size(), "no message below the level asked for, none unasked");

        Map<String, Object> running = structured(call("run_command", withWait(run("long"), 1), meta("progressToken", "t-2")));
        assertEquals("running", running.get("status"));
        List<Map<String, Object>> progress = of("notifications/progress");
        assertTrue(progress.size() >= 3, "every 100 ms for a second: " + progress);
        assertTrue(progress.stream().allMatch(n -> n.toString().contains("progressToken=t-2")), progress.toString());
    }

    private static Map<String, Object> withWait(Map<String, Object> args, int seconds) {
        args.put("wait_seconds", seconds);
        return args;
    }

    private List<Map<String, Object>> of(String method) {
        return session.notifications().stream().filter(n -> method.equals(n.get("method"))).toList();
    }

    @Test
    void cancellingAWaitingCall_stopsWaitingOnly_andGetsNoResponse() throws Exception {
        session.send(McpTestSession.requestMessage("call-1", "tools/call",
                callParams("run_command", withWait(run("long"), 60), meta())));
        daemon.next("run_get");
        session.notify("notifications/cancelled", Map.of("requestId", "call-1", "reason", "the user pressed Esc"));
        String handle = daemon.runs.keySet().iterator().next();
        Map<String, Object> r = structured(call("get_run", Map.of("run_id", handle, "wait_seconds", 0), meta()));
        assertEquals("running", r.get("status"));
        assertNull(session.next(Duration.ofMillis(500)), "nothing answers the cancelled request");
        assertTrue(daemon.stops.isEmpty(), "no run_stop: cancelling only stops waiting");
    }

    @Test
    void cancellingWithStopOnCancel_stopsTheRun_andTheCallsAnswerIsNotWritten() throws Exception {
        Map<String, Object> args = withWait(run("long"), 60);
        args.put("stop_on_cancel", true);
        session.send(McpTestSession.requestMessage(77, "tools/call", callParams("run_command", args, meta())));
        daemon.next("run_get");
        session.notify("notifications/cancelled", Map.of("requestId", 77));
        assertNotNull(daemon.stops.poll(20, java.util.concurrent.TimeUnit.SECONDS), "run_stop sent");
        // the call has stopped waiting and returned; what it returned is not written
        assertNull(session.next(Duration.ofMillis(500)), "nothing answers the cancelled request");
    }

    @Test
    @SuppressWarnings("unchecked")
    void aRequestMissingPartOfItsMeta_getsAnErrorSayingWhich_notSilence() throws Exception {
        Map<String, Object> noVersion = session.request("tools/list",
                Map.of("_meta", Map.of("io.modelcontextprotocol/clientCapabilities", Map.of())));
        Map<String, Object> error = (Map<String, Object>) noVersion.get("error");
        assertNotNull(error, noVersion.toString());
        assertEquals(-32602, ((Number) error.get("code")).intValue());
        assertTrue(error.get("message").toString().contains("protocolVersion"), error.toString());

        Map<String, Object> m = meta();
        m.put("io.modelcontextprotocol/protocolVersion", "2099-01-01");
        Map<String, Object> unsupported = session.request("tools/call", callParams("list_variables", "dev", m));
        assertEquals(-32022, ((Number) ((Map<String, Object>) unsupported.get("error")).get("code")).intValue(),
                "the version is checked before the arguments: " + unsupported);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aRequestReusingTheIdOfOneInFlight_isRefused_andTheFirstCanStillBeCancelled() throws Exception {
        session.initialize();
        Map<String, Object> args = withWait(run("long"), 60);
        args.put("stop_on_cancel", true);
        session.send(McpTestSession.requestMessage(5, "tools/call", McpTestSession.callParams("run_command", args, null)));
        daemon.next("run_get");
        session.send(McpTestSession.requestMessage(5, "tools/call", callParams("broker_status", Map.of(), meta())));
        Map<String, Object> refused = session.responseTo(null);
        Map<String, Object> error = (Map<String, Object>) refused.get("error");
        assertEquals(-32600, ((Number) error.get("code")).intValue(), refused.toString());
        assertTrue(error.get("message").toString().contains("id 5 is still in flight"), error.toString());

        session.notify("notifications/cancelled", Map.of("requestId", 5));
        assertNotNull(daemon.stops.poll(20, java.util.concurrent.TimeUnit.SECONDS), "the first call was cancelled");
        assertNull(session.next(Duration.ofMillis(500)), "nothing answers the cancelled request");
    }

    @Test
    void aRequestIdWithALineBreak_cannotForgeALineOfTheLog() throws Exception {
        String id = "x\n00:00:00.000 WARN brokerctl mcp: forged\u001b[31m";
        Map<String, Object> args = withWait(run("long"), 60);
        session.send(McpTestSession.requestMessage(id, "tools/call", callParams("run_command", args, meta())));
        daemon.next("run_get");
        session.notify("notifications/cancelled", Map.of("requestId", id));
        String handle = daemon.runs.keySet().iterator().next();
        call("get_run", Map.of("run_id", handle, "wait_seconds", 0), meta());
        assertTrue(session.log().contains("cancelled request x\\u000a00:00:00.000 WARN"), session.log());
        assertFalse(session.log().contains("\n00:00:00.000 WARN"), "a forged line: " + session.log());
        assertFalse(session.log().contains("\u001b"), "an escape sequence reached the log");
    }

    @Test
    void unknownToolsAndNonObjectArguments_areErrorResultsAnAgentCanActOn() throws Exception {
        Map<String, Object> unknown = call("rm_rf", Map.of(), meta());
        assertTrue(isError(unknown), unknown.toString());
        assertTrue(text(unknown).contains("unknown tool 'rm_rf'") && text(unknown).contains("run_command"), text(unknown));

        @SuppressWarnings("unchecked")
        Map<String, Object> notObject = (Map<String, Object>) session.request("tools/call",
                callParams("list_variables", "dev", meta())).get("result");
        assertEquals("complete", notObject.get("resultType"));
        assertTrue(notObject.get("_meta").toString().contains("name=brokerctl"), notObject.toString());
        assertTrue(isError(notObject));
        assertTrue(text(notObject).contains("must be a JSON object of named arguments"), text(notObject));

        Map<String, Object> invalid = call("run_command", Map.of("environment", "dev", "command", List.of("x")), meta());
        assertTrue(isError(invalid));
        assertTrue(text(invalid).contains("call list_variables"), "our own message, not the SDK's: " + text(invalid));
    }
}

package dev.brokerctl.mcp;

import static dev.brokerctl.mcp.McpTestSession.isError;
import static dev.brokerctl.mcp.McpTestSession.structured;
import static dev.brokerctl.mcp.McpTestSession.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerPaths;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BrokerMcpServerTest {

    @TempDir
    Path dir;

    @Test
    void passphraseFileInTheEnvironment_refusesToStart() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        String initialize = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}\n";
        int code = BrokerMcpServer.serve(new ByteArrayInputStream(initialize.getBytes(StandardCharsets.UTF_8)), out,
                new PrintStream(log, true, StandardCharsets.UTF_8),
                BrokerPaths.fromEnvironment().withSocket(dir.resolve("d.sock")),
                Map.of("BROKERCTL_PASSPHRASE_FILE", "/home/me/.pass", "PATH", "/usr/bin"));
        assertEquals(2, code);
        assertEquals(0, out.size(), "stdout carries JSON-RPC only, and nothing was served");
        String message = log.toString(StandardCharsets.UTF_8);
        assertTrue(message.contains("BROKERCTL_PASSPHRASE_FILE"), message);
        assertTrue(message.contains("passphrase"), message);
        assertTrue(message.contains("MCP configuration"), message);
        assertFalse(message.contains("/home/me/.pass"), "no need to print where the passphrase is: " + message);
    }

    @Test
    @SuppressWarnings("unchecked")
    void toolsList_everyToolHasInputAndOutputSchemasAndAllFourHints() throws Exception {
        try (McpTestSession s = McpTestSession.start(dir.resolve("d.sock"))) {
            s.initialize();
            Map<String, Object> result = (Map<String, Object>) s.request("tools/list", Map.of()).get("result");
            List<Map<String, Object>> tools = (List<Map<String, Object>>) result.get("tools");
            Set<String> names = new HashSet<>();
            for (Map<String, Object> tool : tools) {
                String name = (String) tool.get("name");
                names.add(name);
                assertTrue(((String) tool.get("description")).length() > 40, name + " needs a description");
                Map<String, Object> in = (Map<String, Object>) tool.get("inputSchema");
                Map<String, Object> out = (Map<String, Object>) tool.get("outputSchema");
                assertNotNull(in, name + ": inputSchema");
                assertNotNull(out, name + ": outputSchema");
                assertEquals("object", in.get("type"), name);
                assertEquals("object", out.get("type"), name);
                assertFalse(((Map<String, Object>) out.get("properties")).isEmpty(), name);
                Map<String, Object> hints = (Map<String, Object>) tool.get("annotations");
                assertNotNull(hints, name + ": annotations");
                for (String hint : List.of("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")) {
                    assertTrue(hints.get(hint) instanceof Boolean, name + ": " + hint + " in " + hints);
                }
            }
            // written out here, not taken from the server's own list: a tool dropped or added shows
            assertEquals(Set.of("broker_status", "list_environments", "list_variables", "run_command", "get_run",
                    "stop_run", "list_runs", "request_variable"), names);

            Map<String, Object> run = tools.stream().filter(t -> t.get("name").equals("run_command")).findFirst().get();
            Map<String, Object> hints = (Map<String, Object>) run.get("annotations");
            assertEquals(false, hints.get("readOnlyHint"));
            assertEquals(true, hints.get("destructiveHint"));
            assertEquals(true, hints.get("openWorldHint"));
            List<String> required = (List<String>) ((Map<String, Object>) run.get("inputSchema")).get("required");
            assertEquals(List.of("environment", "command", "variables", "reason"), required);
            Map<String, Object> list = tools.stream().filter(t -> t.get("name").equals("list_variables")).findFirst().get();
            assertEquals(true, ((Map<String, Object>) list.get("annotations")).get("readOnlyHint"));
        }
    }

    @Test
    void brokerStatus_withoutADaemon_saysHowToStartIt_andIsNotAnError() throws Exception {
        Path socket = dir.resolve("nobody-listens.sock");
        try (McpTestSession s = McpTestSession.start(socket)) {
            s.initialize();
            Map<String, Object> result = s.callTool("broker_status", Map.of());
            assertFalse(isError(result), result.toString());
            Map<String, Object> status = structured(result);
            assertEquals(false, status.get("running"));
            assertNull(status.get("locked"));
            assertEquals(socket.toString(), status.get("socket"));
            assertTrue(((String) status.get("message")).contains("brokerctl daemon"), status.toString());
            // the text block is the message in words, not the JSON again
            assertEquals(status.get("message"), text(result));
            assertEquals(0, s.finish());
        }
    }

    @Test
    void toolsThatNeedTheDaemon_withoutOne_areErrorResultsThatSayWhatToDo() throws Exception {
        try (McpTestSession s = McpTestSession.start(dir.resolve("none.sock"))) {
            s.initialize();
            for (Map.Entry<String, Map<String, Object>> call : Map.<String, Map<String, Object>>of(
                    "list_environments", Map.of(),
                    "list_variables", Map.of("environment", "dev"),
                    "run_command", Map.of("environment", "dev", "command", List.of("true"), "variables", List.of(),
                            "reason", "test"),
                    "request_variable", Map.of("environment", "dev", "name", "X", "description", "x")).entrySet()) {
                Map<String, Object> result = s.callTool(call.getKey(), call.getValue());
                assertTrue(isError(result), call.getKey() + ": " + result);
                String text = text(result);
                assertTrue(text.contains("brokerctl daemon") && text.contains("call " + call.getKey() + " again"),
                        call.getKey() + ": " + text);
                assertFalse(text.contains("\tat "), "no stack trace: " + text);
                Map<String, Object> structured = structured(result);
                assertEquals(text, structured.get("error"), "structured content on an error too");
            }
        }
    }

    @Test
    void unknownTool_isAnErrorResult_notAJsonRpcError() throws Exception {
        try (McpTestSession s = McpTestSession.start(dir.resolve("none.sock"))) {
            s.initialize();
            Map<String, Object> result = s.callTool("rm_rf", Map.of());
            assertTrue(isError(result), result.toString());
            assertTrue(text(result).contains("unknown tool 'rm_rf'") && text(result).contains("run_command"), text(result));
        }
    }

    @Test
    void wrongArgumentTypes_areErrorResultsNamingTheArgument() throws Exception {
        try (McpTestSession s = McpTestSession.start(dir.resolve("none.sock"))) {
            s.initialize();
            Map<String, Object> r = s.callTool("run_command",
                    Map.of("environment", "dev", "command", "npm test", "reason", "tests", "wait_seconds", "soon"));
            assertTrue(isError(r), r.toString());
            String text = text(r);
            assertTrue(text.contains("'command' must be an array of strings, not a string"), text);
            assertTrue(text.contains("'wait_seconds' must be an integer, not a string"), text);

            r = s.callTool("run_command", Map.of("environment", "Prod!", "command", List.of("ls"), "reason", "x",
                    "wait_seconds", 601, "colour", "blue"));
            text = text(r);
            assertTrue(isError(r));
            assertTrue(text.contains("'environment' 'Prod!' is not valid"), text);
            assertTrue(text.contains("'wait_seconds' must be at most 600"), text);
            assertTrue(text.contains("unknown argument 'colour'"), text);

            r = s.callTool("run_command", Map.of("environment", "dev", "command", List.of("ls"), "reason", "x",
                    "variables", List.of(), "cwd", "relative/dir"));
            assertTrue(isError(r));
            assertTrue(text(r).contains("'cwd' must be an absolute path"), text(r));

            r = s.callTool("list_variables", Map.of());
            assertTrue(isError(r));
            assertTrue(text(r).contains("argument 'environment' is required"), text(r));

            r = s.callTool("get_run", Map.of("run_id", true));
            assertTrue(isError(r));
            assertTrue(text(r).contains("'run_id' must be a string"), text(r));
        }
    }

    @Test
    void getRun_forAnUnknownRun_isAnErrorResult() throws Exception {
        try (McpTestSession s = McpTestSession.start(dir.resolve("none.sock"))) {
            s.initialize();
            Map<String, Object> r = s.callTool("get_run", Map.of("run_id", "r_" + "a".repeat(26)));
            assertTrue(isError(r));
            assertEquals("error", structured(r).get("status"));
            assertTrue(text(r).contains("brokerctl daemon"), text(r));
            r = s.callTool("get_run", Map.of("run_id", 12345));
            assertTrue(isError(r));
            assertTrue(text(r).contains("handle"), text(r));
        }
    }
}

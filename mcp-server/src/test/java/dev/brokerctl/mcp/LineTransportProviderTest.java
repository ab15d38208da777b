package dev.brokerctl.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stdio transport, through a real session: bad input is answered and the session goes on. */
class LineTransportProviderTest {

    @TempDir
    Path dir;

    private McpTestSession session() throws Exception {
        return McpTestSession.start(dir.resolve("no-daemon.sock"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> error(Map<String, Object> reply) {
        assertTrue(reply.containsKey("id"), "an error reply carries an id, null or not: " + reply);
        Map<String, Object> error = (Map<String, Object>) reply.get("error");
        assertNotNull(error, "expected an error: " + reply);
        return error;
    }

    @Test
    @SuppressWarnings("unchecked")
    void malformedLine_getsParseError_thenInitializeAndToolsListWork() throws Exception {
        try (McpTestSession s = session()) {
            s.sendLine("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ");
            Map<String, Object> reply = s.next();
            assertEquals("2.0", reply.get("jsonrpc"));
            assertNull(reply.get("id"));
            Map<String, Object> error = error(reply);
            assertEquals(-32700, error.get("code"));
            assertTrue(((String) error.get("message")).startsWith("Parse error: "), error.toString());

            s.sendLine("this is not json at all");
            assertEquals(-32700, error(s.next()).get("code"));

            Map<String, Object> init = s.initialize();
            assertEquals("brokerctl", ((Map<String, Object>) init.get("serverInfo")).get("name"));
            Map<String, Object> tools = s.request("tools/list", Map.of());
            assertEquals(BrokerTools.NAMES.size(), ((List<?>) ((Map<String, Object>) tools.get("result")).get("tools")).size());
            assertEquals(0, s.finish());
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void lineOverOneMebibyte_isRefusedWithoutEndingTheSession() throws Exception {
        try (McpTestSession s = session()) {
            s.initialize();
            byte[] huge = new byte[2 * 1024 * 1024 + 1];
            Arrays.fill(huge, (byte) 'x');
            byte[] prefix = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\",\"params\":{\"pad\":\"".getBytes(StandardCharsets.UTF_8);
            System.arraycopy(prefix, 0, huge, 0, prefix.length);
            huge[huge.length - 1] = '\n';
            s.sendRaw(huge);
            Map<String, Object> reply = s.next();
            assertNull(reply.get("id"));
            Map<String, Object> error = error(reply);
            assertEquals(-32600, error.get("code"));
            assertTrue(((String) error.get("message")).contains("longer than the limit"), error.toString());

            Map<String, Object> tools = s.request("tools/list", Map.of());
            assertNotNull(((Map<String, Object>) tools.get("result")).get("tools"));
            assertTrue(s.log().contains("refused an input line of " + (huge.length - 1) + " bytes"), s.log());
            assertEquals(0, s.finish());
        }
    }

    @Test
    void lineOfExactlyOneMebibyte_isStillRead() throws Exception {
        try (McpTestSession s = session()) {
            s.initialize();
            String head = "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\",\"params\":{\"pad\":\"";
            String tail = "\"}}";
            byte[] line = new byte[LineTransportProvider.MAX_LINE_BYTES + 1];
            Arrays.fill(line, (byte) 'y');
            System.arraycopy(head.getBytes(StandardCharsets.UTF_8), 0, line, 0, head.length());
            System.arraycopy(tail.getBytes(StandardCharsets.UTF_8), 0, line, line.length - 1 - tail.length(), tail.length());
            line[line.length - 1] = '\n';
            s.sendRaw(line);
            Map<String, Object> reply = s.responseTo(6);
            assertNotNull(reply.get("result"), reply.toString());
        }
    }

    @Test
    void jsonThatIsNotJsonRpc_isAnInvalidRequest_andTheIdIsEchoedWhenReadable() throws Exception {
        try (McpTestSession s = session()) {
            s.sendLine("[1, 2, 3]");
            assertEquals(-32600, error(s.next()).get("code"));
            s.sendLine("42");
            assertEquals(-32600, error(s.next()).get("code"));
            s.sendLine("{\"hello\": \"world\"}");
            assertEquals(-32600, error(s.next()).get("code"));
            s.sendLine("{\"jsonrpc\": \"2.0\", \"id\": 9}");
            Map<String, Object> reply = s.next();
            assertEquals(9, reply.get("id"));
            assertEquals(-32600, error(reply).get("code"));
            s.sendLine("{\"jsonrpc\": \"2.0\", \"id\": 10, \"method\": 7}");
            assertEquals(-32600, error(s.responseTo(10)).get("code"));
            s.sendLine("{\"jsonrpc\": \"2.0\", \"id\": {\"x\": 1}, \"method\": \"ping\"}");
            Map<String, Object> badId = s.next();
            assertNull(badId.get("id"));
            assertEquals(-32600, error(badId).get("code"));

            s.initialize();   // still serving
            assertEquals(0, s.finish());
        }
    }

    @Test
    void blankLinesAndCarriageReturns_areTolerated() throws Exception {
        try (McpTestSession s = session()) {
            s.sendRaw("\n\r\n   \n".getBytes(StandardCharsets.UTF_8));
            s.sendRaw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n".getBytes(StandardCharsets.UTF_8));
            // ping before initialize: the SDK refuses it, but with a well-formed reply to id 1
            Map<String, Object> reply = s.responseTo(1);
            assertTrue(reply.containsKey("result") || reply.containsKey("error"), reply.toString());
            assertNull(s.next(Duration.ofMillis(300)), "blank lines must not be answered");
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void initialize_negotiatesTheClientsVersionWhenSupported_andOffersInstructions() throws Exception {
        try (McpTestSession s = session()) {
            Map<String, Object> init = s.initialize("2025-03-26");
            assertEquals("2025-03-26", init.get("protocolVersion"));
            String instructions = (String) init.get("instructions");
            assertTrue(instructions.contains("list_environments") && instructions.contains("get_run"), instructions);
            assertNotNull(((Map<String, Object>) init.get("capabilities")).get("tools"));
        }
        try (McpTestSession s = session()) {
            Map<String, Object> init = s.initialize("1999-01-01");
            assertFalse("1999-01-01".equals(init.get("protocolVersion")));
        }
    }

    @Test
    void stdinClosingEndsServe() throws Exception {
        McpTestSession s = session();
        s.initialize();
        assertEquals(0, s.finish());
        assertTrue(s.log().contains("session is over"), s.log());
    }
}

package dev.brokerctl.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.Workers;
import io.modelcontextprotocol.json.jackson3.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;

class WarmupTest {

    @TempDir
    Path dir;

    private FakeDaemon daemon;
    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private BrokerTools tools;
    private McpLog log;

    @BeforeEach
    void start() throws Exception {
        Path socket = dir.resolve("d.sock");
        daemon = new FakeDaemon(socket);
        log = new McpLog(new PrintStream(logBytes, true, StandardCharsets.UTF_8), true);
        Daemon d = new Daemon(BrokerPaths.fromEnvironment().withSocket(socket), "test");
        tools = new BrokerTools(d, new VariableRequests(log, new Workers("test-reader")),
                new InFlightRequests(BrokerTools::refusedCall), log, Duration.ofSeconds(5), false);
    }

    @AfterEach
    void stop() throws Exception {
        daemon.close();
    }

    @Test
    void warmingUp_runsEveryPass_andNeverReachesTheDaemon() throws Exception {
        Warmup w = new Warmup(new JacksonMcpJsonMapper(JsonMapper.builder().build()), tools, log).start();
        w.listed();
        assertTrue(w.awaitDone(120_000), "the warm-up did not finish");
        String logged = logBytes.toString(StandardCharsets.UTF_8);
        assertTrue(logged.contains("warm-up: " + Warmup.PASSES + " passes"), logged);
        assertFalse(logged.contains("warm-up stopped"), logged);
        assertEquals(0, daemon.connectionCount(), "the warm-up connected to the daemon");
        assertTrue(daemon.received.isEmpty(), "the warm-up sent the daemon " + daemon.received);
    }

    @Test
    void theSampleRunResult_matchesRunCommandsOutputSchema_andTheStoppedWarmupEndsEarly() throws Exception {
        CallToolResult r = tools.warmUp(Map.of("environment", "dev", "command", List.of("true"), "variables", List.of(),
                "reason", "warm-up"));
        assertFalse(r.isError());
        assertEquals("completed", ((Map<?, ?>) r.structuredContent()).get("status"));

        Warmup w = new Warmup(new JacksonMcpJsonMapper(JsonMapper.builder().build()), tools, log).start();
        w.stop();
        assertTrue(w.awaitDone(120_000), "a stopped warm-up did not end");
        assertEquals(0, daemon.connectionCount());
    }
}

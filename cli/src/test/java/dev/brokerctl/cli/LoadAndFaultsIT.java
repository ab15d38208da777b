package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.ResolvedValues;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, "A load and fault suite", small enough for CI (the full figures: bench/load.sh,
 * docs/benchmarks.md). Under a flood of idle and slowloris connections: concurrent CLI runs and
 * MCP sessions all succeed with every value masked; the daemon SIGKILLed under load leaves a
 * vault that passes SQLite's integrity_check with its value intact; a child that ignores SIGTERM
 * is killed at its timeout and with its killed client. Covered elsewhere and not repeated here:
 * double-forked children (RunLeavesNoProcessTest), 1 GiB without newlines (DaemonIT,
 * bench/daemon-rss.sh), the approver under a flood (ConnectionFloodIT), 100 wrong keys at the
 * daemon without a descriptor more (VaultFilesIT.hundredFailedAuthentications_*), a wrong
 * passphrase failing before a byte is sent (AuthenticationIT), 100 wrong passphrases (bench/load.sh).
 */
class LoadAndFaultsIT {

    static final String VALUE = "load-canary-value-3f9a61c2";
    static final Duration WAIT = Duration.ofSeconds(60);

    Unprivileged user;
    Path dir;
    Brokerctl b;
    final List<Process> processes = new ArrayList<>();
    final List<Spawned> spawned = new ArrayList<>();
    ExecutorService pool;

    @BeforeEach
    void setUp() throws Exception {
        user = Unprivileged.user();
        dir = user.newDirectory("brokerctl-load-");
        b = new Brokerctl(dir).as(user);
        b.init();
        expectOk(b.run("env", "create", "dev", "--policy", "auto"));
        expectOk(b.runWithInput(VALUE.getBytes(StandardCharsets.UTF_8), "set", "dev", "TOKEN"));
        pool = Executors.newFixedThreadPool(16);
    }

    @AfterEach
    void tearDown() throws Exception {
        pool.shutdownNow();
        for (Process p : processes) {
            p.destroyForcibly().waitFor();
        }
        for (Spawned s : spawned) {
            s.close();
        }
        b.run("stop");
        assertFalse(b.transcript.toString().contains(VALUE), "a value in brokerctl's output");
        Brokerctl.deleteTree(dir);
    }

    @Test
    void runsAndMcpSessionsUnderAFlood_thenASigkilledDaemon_thenFaultyChildren() throws Exception {
        expectOk(b.run("daemon", "--detach"));
        long daemon = b.daemonPid();

        // 12 CLI runs and 2 MCP sessions of 3 runs each, at once, after 200 idle connections (as
        // many as the pre-hello queue keeps stay) and with 20 slowloris ones (the sustained flood
        // that reconnects at once: ConnectionFloodIT)
        long t0 = System.nanoTime();
        Flood idle = flood("held", 200);
        Flood slow = flood("slow", 20);
        List<Future<String>> clients = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            clients.add(pool.submit(() -> cliRun("run", "--env", "dev", "--", "sh", "-c", "printf %s \"$TOKEN\"")));
        }
        for (int i = 0; i < 2; i++) {
            clients.add(pool.submit(this::mcpSession));
        }
        for (Future<String> c : clients) {
            String out = c.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertTrue(out.contains("[MASKED:TOKEN]"), out);
            assertFalse(out.contains(VALUE), "a value in a client's output");
        }
        Map<String, Object> idleTally = idle.stop();
        Map<String, Object> slowTally = slow.stop();
        System.out.printf("under load: idle flood %s, slowloris %s; %d ms%n", idleTally, slowTally,
                (System.nanoTime() - t0) / 1_000_000);
        assertTrue(idleTally.get("codes").toString().contains("too_many_connections"),
                "the flood met the pre-hello queue's limit: " + idleTally);

        // SIGKILL of the daemon with runs in flight
        List<Spawned> inFlight = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Spawned s = b.start("run", "--env", "dev", "--", "sh", "-c", "echo started; exec sleep 300.2" + i);
            spawned.add(s);
            inFlight.add(s);
        }
        for (Spawned s : inFlight) {
            assertEquals("started", s.nextLine(WAIT));
        }
        assertTrue(ProcessHandle.of(daemon).orElseThrow().destroyForcibly(), "kill -9 " + daemon);
        DaemonIT.awaitGone(daemon, "the SIGKILLed daemon");
        for (Spawned s : inFlight) {
            Brokerctl.Result r = s.await(WAIT);
            assertTrue(r.exit() != 0 && !r.err().isBlank(), "a client of a killed daemon says why: " + r);
        }
        for (int i = 0; i < 6; i++) {
            DaemonIT.awaitNoProcessWith("300.2" + i, "a run of the SIGKILLed daemon");
        }
        Path vault = b.home.resolve("vault.db");
        try (java.sql.Connection sql = java.sql.DriverManager.getConnection("jdbc:sqlite:file:" + vault + "?mode=ro");
                java.sql.ResultSet rs = sql.createStatement().executeQuery("PRAGMA integrity_check")) {
            assertTrue(rs.next());
            assertEquals("ok", rs.getString(1));
        }
        try (VaultSession s = Vault.open(vault).unlock(Brokerctl.PASSPHRASE.toCharArray())) {
            try (ResolvedValues v = s.resolve("dev", List.of("TOKEN"))) {
                assertTrue(VALUE.equals(new String(v.get("TOKEN").revealBytes(), StandardCharsets.UTF_8)),
                        "the value after the SIGKILL is not the one set");   // no value in the failure message
            }
        }
        System.out.printf("SIGKILL under load and the vault checked: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        expectOk(b.run("daemon", "--detach"));
        daemon = b.daemonPid();

        // a child that ignores SIGTERM: killed at its timeout, and when its client is killed
        Brokerctl.Result timedOut = b.run("run", "--env", "dev", "--timeout", "1s", "--", "sh", "-c",
                "trap '' TERM; exec sleep 300.31");
        assertEquals(124, timedOut.exit(), timedOut.toString());
        DaemonIT.awaitNoProcessWith("300.31", "a SIGTERM-ignoring child past its timeout");
        Spawned stubborn = b.start("run", "--env", "dev", "--", "sh", "-c", "trap '' TERM; echo started; sleep 300.32");
        spawned.add(stubborn);
        assertEquals("started", stubborn.nextLine(WAIT));
        stubborn.process.destroyForcibly();
        stubborn.await(WAIT);
        DaemonIT.awaitNoProcessWith("300.32", "a SIGTERM-ignoring child of a killed client");

        System.out.printf("faulty children: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        Brokerctl.Result after = b.run("run", "--env", "dev", "--", "sh", "-c", "printf %s \"$TOKEN\"");
        assertEquals("[MASKED:TOKEN]", after.out(), after.toString());
    }

    /**
     * One {@code brokerctl ARGS} from a thread of the pool ({@link Brokerctl#run} keeps one
     * transcript, not made for threads); its output, checked for the value by the caller.
     */
    private String cliRun(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(user.command(b.launcher.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().putAll(b.env);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out.contains(VALUE) ? "(output withheld: it holds the value)" : out);
        return out;
    }

    /** {@code brokerctl mcp} over stdio: initialize, then three run_command calls; the raw lines back. */
    private String mcpSession() throws Exception {
        List<String> cmd = user.command(b.launcher.toString(), "mcp");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().clear();
        pb.environment().putAll(b.env);
        pb.environment().remove("BROKERCTL_PASSPHRASE_FILE");   // brokerctl mcp refuses to start with it
        Process p = pb.start();
        synchronized (processes) {
            processes.add(p);
        }
        StringBuilder got = new StringBuilder();
        try (OutputStream in = p.getOutputStream();
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            line(in, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
                    + "\"capabilities\":{},\"clientInfo\":{\"name\":\"load\",\"version\":\"1\"}}}");
            response(out, 1);
            line(in, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
            for (int id = 2; id <= 4; id++) {
                line(in, "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"run_command\","
                        + "\"arguments\":{\"environment\":\"dev\",\"command\":[\"sh\",\"-c\",\"printf %s \\\"$TOKEN\\\"\"],"
                        + "\"variables\":[\"TOKEN\"],\"reason\":\"load test\",\"cwd\":\"" + dir + "\"}}}");
                String r = response(out, id);
                assertFalse(r.contains("\"isError\":true"), r);
                got.append(r).append('\n');
            }
        }
        assertEquals(0, p.waitFor());
        return got.toString();
    }

    private static void line(OutputStream in, String json) throws Exception {
        in.write((json + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
    }

    private static String response(BufferedReader out, int id) throws Exception {
        String l;
        while ((l = out.readLine()) != null) {
            if (l.contains("\"id\":" + id + ",") || l.contains("\"id\":" + id + "}")) {
                return l;
            }
        }
        throw new AssertionError("brokerctl mcp ended before answering " + id);
    }

    private Flood flood(String mode, int count) throws Exception {
        Flood f = Flood.start(user, dir, b.socket(), mode, count);
        processes.add(f.process());
        return f;
    }

    private static void expectOk(Brokerctl.Result r) {
        assertEquals(0, r.exit(), r.toString());
    }
}

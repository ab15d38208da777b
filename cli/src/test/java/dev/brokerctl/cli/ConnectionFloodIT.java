package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, "Limits", as a same-user agent would try it (an unprivileged uid, the daemon that
 * user's own): floods of idle, slowloris and requester connections against the real daemon
 * (docs/architecture.md, "Connection limits"). The probe: a human approves a run in a terminal
 * console ({@code brokerctl approve} in tmux), without the flood (the control) and with it; the
 * flood's own tally shows it met the limits, and the daemon's thread count (/proc/PID/status)
 * comes back after it.
 */
class ConnectionFloodIT {

    static final String VALUE = "flood-canary-value-7d01b9e4";

    Unprivileged user;
    Path dir;
    Brokerctl b;
    final List<Flood> floods = new ArrayList<>();
    final List<Spawned> spawned = new ArrayList<>();
    final List<Tmux> consoles = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        user = Unprivileged.user();
        dir = user.newDirectory("brokerctl-flood-");
        b = new Brokerctl(dir).as(user);
        b.init();
        expectOk(b.run("env", "create", "prod"));
        expectOk(b.runWithInput(VALUE.getBytes(StandardCharsets.UTF_8), "set", "prod", "API_TOKEN"));
        expectOk(b.run("daemon", "--detach"));
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Flood f : floods) {
            f.process().destroyForcibly().waitFor();
        }
        for (Tmux t : consoles) {
            t.kill();
        }
        for (Spawned s : spawned) {
            s.close();
        }
        b.run("stop");
        assertFalse(b.transcript.toString().contains(VALUE), "a value in brokerctl's output");
        Brokerctl.deleteTree(dir);
    }

    @Test
    void floodsOfIdleAndSlowlorisConnections_neverLockTheApproverOut_meetTheLimit_andLeaveNoThread() throws Exception {
        long pid = b.daemonPid();
        int before = threads(pid);
        approveOneRun("control");   // the probe without a flood

        Flood idle = flood("idle", 400);
        Flood slow = flood("slow", 150);
        int during = threads(pid);
        approveOneRun("flooded");   // the console starts with both floods going on
        Map<String, Object> connections = connections();
        Map<String, Object> idleTally = idle.stop();
        Map<String, Object> slowTally = slow.stop();

        long evicted = code(idleTally, "too_many_connections") + code(slowTally, "too_many_connections");
        long late = code(idleTally, "too_slow") + code(slowTally, "too_slow");
        System.out.printf("flood: idle %s, slow %s; daemon %s; threads %d before, %d during%n", idleTally, slowTally,
                connections, before, during);
        assertTrue(evicted + late >= 550 - 64, "the floods met the 64-connection pre-hello queue: " + idleTally
                + " " + slowTally);
        assertTrue(evicted > 0, "the full queue evicted flood connections: " + idleTally + " " + slowTally);
        assertTrue(during <= before + 24, "550 connections are not a thread each: " + before + " -> " + during);
        awaitThreadsAtMost(pid, before + 6);
    }

    @Test
    void aFloodOfRequesterConnections_isCappedPerProcess_andItsThreadsEnd() throws Exception {
        long pid = b.daemonPid();
        int before = threads(pid);
        Flood requesters = flood("requester", 100);   // ready: each connection answered or refused
        int during = threads(pid);
        // (an approver past full requester slots: ConnectionLimitsTest)
        Map<String, Object> tally = requesters.stop();
        System.out.printf("requester flood: %s; threads %d before, %d during%n", tally, before, during);
        assertEquals(100L - 64, code(tally, "too_many_connections"), "64 per process, the rest refused: " + tally);
        // each admitted requester holds a thread (the baseline's own transient threads may have ended: 8 of slack)
        assertTrue(during >= before + 64 - 8, "64 requesters admitted, threads " + before + " -> " + during);
        awaitThreadsAtMost(pid, before + 6);
    }

    // ------------------------------------------------------------------ helpers

    /** A human approves one run in a terminal console; the command ran. */
    private void approveOneRun(String tag) throws Exception {
        Tmux console = new Tmux(dir.resolve("tmux-" + tag + ".sock"), user.prefix(), 100, 40);
        consoles.add(console);
        console.start(b, "approve");
        console.awaitScreen("watching for requests", Tmux.WAIT);
        Path marker = dir.resolve("approved-" + tag);
        Spawned run = b.start("run", "--env", "prod", "--", "touch", marker.toString());
        spawned.add(run);
        console.awaitScreen("command: touch", Tmux.WAIT);
        String code = console.lastCode();
        console.answer("a");
        console.type(code);
        Brokerctl.Result r = run.await(Tmux.WAIT);
        assertEquals(0, r.exit(), tag + ": " + r);
        assertTrue(Files.exists(marker), tag + ": the approved command did not run");
        console.kill();
    }

    /** The daemon's connection counts from {@code brokerctl status --json}. */
    @SuppressWarnings("unchecked")
    private Map<String, Object> connections() throws Exception {
        Brokerctl.Result status = b.run("status", "--json");
        expectOk(status);
        return (Map<String, Object>) Message.parse(status.out().trim().getBytes(StandardCharsets.UTF_8)).asMap()
                .get("connections");
    }

    static int threads(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("Threads:")) {
                return Integer.parseInt(line.substring(8).trim());
            }
        }
        throw new AssertionError("no Threads: line for pid " + pid);
    }

    /** Polls /proc with a deadline: idle pool threads end 5 s after their last task. */
    static void awaitThreadsAtMost(long pid, int most) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        int now;
        while ((now = threads(pid)) > most) {
            assertTrue(System.nanoTime() < deadline, "the daemon still has " + now + " threads, not back to " + most);
            Thread.onSpinWait();
            java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L);   // a poll interval, not a synchronisation
        }
    }

    private static long code(Map<String, Object> tally, String code) {
        Object n = ((Map<?, ?>) tally.get("codes")).get(code);
        return n == null ? 0 : ((Number) n).longValue();
    }

    private Flood flood(String mode, int count) throws Exception {
        Flood f = Flood.start(user, dir, b.socket(), mode, count);
        floods.add(f);
        return f;
    }

    private static void expectOk(Brokerctl.Result r) {
        assertEquals(0, r.exit(), r.toString());
    }
}

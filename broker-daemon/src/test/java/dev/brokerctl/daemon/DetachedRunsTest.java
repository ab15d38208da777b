package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs detached from their connection, over the real socket and real child processes. */
class DetachedRunsTest {

    @TempDir
    Path tmp;
    DaemonFixture f;

    @AfterEach
    void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    private DaemonFixture started() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        return f;
    }

    private static Message run(String environment, List<String> argv, List<String> variables) {
        Message m = Message.of("run").with("environment", environment).with("argv", argv)
                .with("cwd", System.getProperty("java.io.tmpdir")).with("env", Map.of()).with("detach", true)
                .with("masking", true).with("stdin", false).with("reason", "test");
        if (variables != null) {
            m.with("variables", variables);
        }
        return m;
    }

    /** Starts a detached run on a connection that is closed at once; returns the handle. */
    private Message startAndLeave(Message request) throws Exception {
        try (BrokerClient c = f.connect()) {
            Message reply = c.call(request);
            assertEquals("detached", reply.type());
            return reply;
        }
    }

    private Message get(String handle, long waitMs, Long stdoutOffset) throws Exception {
        try (BrokerClient c = f.connect()) {
            Message m = Message.of("run_get").with("handle", handle).with("wait_ms", waitMs);
            if (stdoutOffset != null) {
                m.with("stdout_offset", stdoutOffset).with("max_bytes", 65536);
            }
            return c.call(m);
        }
    }

    @Test
    void aDetachedRunWithoutMasking_isRefused_forItsOutputWouldWaitRawWhereAnyRequesterReadsIt() throws Exception {
        started();
        try (BrokerClient c = f.connect()) {
            BrokerException e = assertThrows(BrokerException.class,
                    () -> c.call(run("dev", List.of("printenv", "TOKEN"), List.of("TOKEN")).with("masking", false)));
            assertEquals(ErrorCode.INVALID, e.code());
            assertTrue(e.getMessage().contains("always masked"), e.getMessage());
        }
        try (BrokerClient c = f.connect()) {
            assertTrue(c.call(Message.of("run_list")).messages("runs").isEmpty(), "nothing was registered");
        }
        // the probe: the same request masked is taken
        String handle = startAndLeave(run("dev", List.of("printenv", "TOKEN"), List.of("TOKEN"))).string("handle");
        assertEquals("[MASKED:TOKEN]\n", get(handle, 20_000, null).message("stdout").string("text"));
    }

    @Test
    void aRunOutlivesItsConnection_andAnotherConnectionReadsItMasked() throws Exception {
        started();
        Message started = startAndLeave(run("dev", List.of("sh", "-c", "sleep 0.3; printenv TOKEN"), List.of("TOKEN")));
        String handle = started.string("handle");
        assertTrue(handle.matches("r_[a-z2-7]{26}"), handle);
        Message done = get(handle, 20_000, null);
        assertEquals("completed", done.string("status"), done.string("detail", ""));
        assertEquals(0, done.number("exit_code", -1));
        assertEquals(started.number("run_id", -1), done.number("run_id", -2));
        assertEquals("[MASKED:TOKEN]\n", done.message("stdout").string("text"));
        assertFalse(done.toString().contains(DaemonFixture.CANARY));
    }

    @Test
    void unknownHandle_isNotFound_andSaysWhy() throws Exception {
        started();
        try (BrokerClient c = f.connect()) {
            BrokerException e = assertThrows(BrokerException.class,
                    () -> c.call(Message.of("run_get").with("handle", "r_nope")));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
            assertTrue(e.getMessage().contains("restart"), e.getMessage());
        }
    }

    @Test
    void allVariables_inAnAutoEnvironment_waitsForAHuman_whileNamedOnesRunAtOnce() throws Exception {
        started();
        String all = startAndLeave(run("dev", List.of("true"), null)).string("handle");
        String none = startAndLeave(run("dev", List.of("true"), List.of())).string("handle");
        assertEquals("completed", get(none, 20_000, null).string("status"));
        Message waiting = get(all, 300, null);
        assertEquals("pending_approval", waiting.string("status"));
        assertEquals(List.of("*"), waiting.strings("variables"));
        try (BrokerClient c = f.connect()) {
            Message stopped = c.call(Message.of("run_stop").with("handle", all));
            assertEquals("stopped", stopped.string("status"));
        }
    }

    @Test
    void stop_killsARunningCommand_andTheStatusIsStopped() throws Exception {
        started();
        String handle = startAndLeave(run("dev", List.of("sleep", "300"), List.of())).string("handle");
        try (BrokerClient c = f.connect()) {
            while (!"running".equals(c.call(Message.of("run_get").with("handle", handle)).string("status"))) {
                Thread.onSpinWait();
            }
            Message stopped = c.call(Message.of("run_stop").with("handle", handle));
            assertEquals("stopped", stopped.string("status"));
            assertEquals(137, stopped.number("exit_code", -1));
        }
    }

    @Test
    void aProcessHasAtMost16ActiveDetachedRuns_andGetsRoomWhenOneEnds() throws Exception {
        started();
        List<String> handles = new java.util.ArrayList<>();
        for (int i = 0; i < DetachedRuns.MAX_ACTIVE_PER_PID; i++) {
            handles.add(startAndLeave(run("dev", List.of("sleep", "300"), List.of())).string("handle"));
        }
        try (BrokerClient c = f.connect()) {
            BrokerException e = assertThrows(BrokerException.class,
                    () -> c.call(run("dev", List.of("sleep", "300"), List.of())));
            assertEquals(ErrorCode.TOO_MANY, e.code());
            assertTrue(e.getMessage().contains("16 detached runs of this process"), e.getMessage());
            assertEquals("stopped", c.call(Message.of("run_stop").with("handle", handles.get(0))).string("status"));
        }
        startAndLeave(run("dev", List.of("true"), List.of()));   // one ended: there is room again
    }

    @Test
    void pagedOutput_returnsEachByteOnce() throws Exception {
        started();
        // 300 000 bytes: far more than one page, all of it held
        String handle = startAndLeave(run("dev", List.of("sh", "-c",
                "i=0; while [ $i -lt 10000 ]; do printf '%029d\\n' $i; i=$((i+1)); done"), List.of())).string("handle");
        Message first = get(handle, 60_000, null);
        assertEquals("completed", first.string("status"));
        Message out = first.message("stdout");
        assertEquals(300_000, out.number("total_bytes", -1));
        assertTrue(out.bool("truncated", false), "a first look at a big output is head and tail");
        assertTrue(out.string("text").length() <= DetachedRuns.DEFAULT_PAGE_BYTES + 200);
        StringBuilder all = new StringBuilder();
        long offset = 0;
        int pages = 0;
        while (offset < 300_000) {
            Message page = get(handle, 0, offset).message("stdout");
            assertEquals(offset, page.number("offset", -1), "no gap");
            all.append(page.string("text"));
            offset = page.number("next_offset", -1);
            pages++;
        }
        assertEquals(5, pages);
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 10000; i++) {
            expected.append(String.format("%029d%n", i));
        }
        assertEquals(expected.toString(), all.toString());
        Message nothingNew = get(handle, 0, offset).message("stdout");
        assertEquals("", nothingNew.string("text"));
        assertFalse(nothingNew.bool("truncated", true));
    }

    @Test
    void runIds_doNotRepeatAcrossDaemonRestarts() throws Exception {
        started();
        long first = startAndLeave(run("dev", List.of("true"), List.of())).number("run_id", -1);
        f.daemon.shutdown();
        f.clock.advance(Duration.ofSeconds(1));   // a restart takes time
        f.start(Duration.ofSeconds(120), true);
        long second = startAndLeave(run("dev", List.of("true"), List.of())).number("run_id", -1);
        assertNotEquals(first, second);
        assertTrue(second > first, first + " then " + second);
    }

    @Test
    void daemonStoppingMidRun_settlesTheRunAsDaemonStopped_forAWaitingReader() throws Exception {
        started();
        String handle = startAndLeave(run("dev", List.of("sleep", "300"), List.of())).string("handle");
        try (BrokerClient c = f.connect()) {
            while (!"running".equals(c.call(Message.of("run_get").with("handle", handle)).string("status"))) {
                Thread.onSpinWait();
            }
            c.send(Message.of("run_get").with("handle", handle).with("wait_ms", 60_000));
            Thread stopper = new Thread(f.daemon::shutdown, "test-stop");
            stopper.start();
            Message m = BrokerClient.check(Message.parse(c.receive().payload()));
            stopper.join();
            assertEquals("daemon_stopped", m.string("status"));
            assertEquals(Runner.DAEMON_STOPPED_MESSAGE, m.string("detail"));
        }
    }

    @Test
    void attachedRun_isToldTheDaemonStopped() throws Exception {
        started();
        try (BrokerClient c = f.connect()) {
            c.send(Message.of("run").with("environment", "dev").with("argv", List.of("sleep", "300"))
                    .with("cwd", "/").with("env", Map.of()).with("variables", List.of()));
            assertEquals("started", Message.parse(c.receive().payload()).type());
            Thread stopper = new Thread(f.daemon::shutdown, "test-stop");
            stopper.start();
            Message m = Message.parse(c.receive().payload());
            stopper.join();
            assertEquals("error", m.type());
            assertEquals(ErrorCode.DAEMON_STOPPED.wire(), m.string("code"));
            assertEquals(Runner.DAEMON_STOPPED_MESSAGE, m.string("message"));
        }
    }

    @Test
    void list_showsDetachedRunsOnly_newestFirst_andFiltersByState() throws Exception {
        started();
        try (BrokerClient c = f.connect()) {
            c.call(Message.of("run").with("environment", "dev").with("argv", List.of("true")).with("cwd", "/")
                    .with("env", Map.of()).with("variables", List.of()));
        } catch (BrokerException ignored) {
            // the attached run's 'started' is not a reply; it ran anyway
        }
        String a = startAndLeave(run("dev", List.of("true"), List.of())).string("handle");
        get(a, 20_000, null);
        String b = startAndLeave(run("dev", List.of("sleep", "300"), List.of())).string("handle");
        try (BrokerClient c = f.connect()) {
            List<Message> all = c.call(Message.of("run_list")).messages("runs");
            assertEquals(List.of(b, a), all.stream().map(m -> m.asMap().get("handle")).toList());
            List<Message> done = c.call(Message.of("run_list").with("state", "finished")).messages("runs");
            assertEquals(List.of(a), done.stream().map(m -> m.asMap().get("handle")).toList());
            BrokerException e = assertThrows(BrokerException.class,
                    () -> c.call(Message.of("run_list").with("state", "sideways")));
            assertEquals(ErrorCode.INVALID, e.code());
            c.call(Message.of("run_stop").with("handle", b));
        }
    }
}

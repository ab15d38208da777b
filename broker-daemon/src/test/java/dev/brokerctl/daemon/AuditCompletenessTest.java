package dev.brokerctl.daemon;

import static dev.brokerctl.daemon.DaemonProtocolTest.approve;
import static dev.brokerctl.daemon.DaemonProtocolTest.collect;
import static dev.brokerctl.daemon.DaemonProtocolTest.runMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every run that was allowed ends in one {@code run_exited} entry, whatever ended it: an idle
 * lock while it runs, {@code brokerctl stop} while it runs, a command that could not start. The
 * daemon, its socket, SQLite and the commands are real; the clock is the fixture's, moved by hand.
 */
class AuditCompletenessTest {

    @TempDir
    Path tmp;
    DaemonFixture f;

    @AfterEach
    void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }


    private static List<AuditEntry> of(List<AuditEntry> all, String type, long runId) {
        return all.stream().filter(e -> e.type().id().equals(type))
                .filter(e -> runId < 0 || Long.valueOf(runId).equals(e.number("run_id"))).toList();
    }

    @Test
    void idleLock_waitsWhileACommandRuns_andCountsFromItsEnd_soItsExitIsRecorded() throws Exception {
        f = new DaemonFixture(tmp, config -> config.withIdleLock(Duration.ofMinutes(1))).start(Duration.ofSeconds(120), true);
        long id;
        try (BrokerClient c = f.connect()) {
            c.send(runMessage("dev", List.of("sleep", "300")));
            Message started = Message.parse(c.receive().payload());
            assertEquals("started", started.type());
            id = started.number("run_id", -1);
            f.clock.advance(Duration.ofMinutes(5));
            assertFalse(f.daemon.lockIfIdle(), "the idle lock took the vault from under a running command");
            assertFalse(f.daemon.isLocked());
            c.send(Message.of("signal").with("signal", 15));
            DaemonProtocolTest.RunResult r = collect(c);
            assertEquals("exit", r.last().type());
        }
        try (BrokerClient c = f.connect()) {
            while (c.call(Message.of("status")).number("running", -1) != 0) {
                Thread.onSpinWait();   // the run's task ends just after its exit message is sent
            }
        }
        f.clock.advance(Duration.ofSeconds(59));
        assertFalse(f.daemon.lockIfIdle(), "the idle period counts from the run's end");
        f.clock.advance(Duration.ofSeconds(2));
        assertTrue(f.daemon.lockIfIdle(), "idle a minute after the run ended");
        List<AuditEntry> all = f.entriesAfterStop();
        List<AuditEntry> exited = of(all, "run_exited", id);
        assertEquals(1, exited.size(), all.toString());
        assertEquals(143L, exited.get(0).number("exit_code"));
        List<AuditEntry> locked = of(all, "locked", -1);
        assertEquals("idle for 1m", locked.get(0).string("reason"));
        assertTrue(all.indexOf(exited.get(0)) < all.indexOf(locked.get(0)), "the exit is before the lock");
    }

    @Test
    void stopWithARunInFlight_recordsItsExit_asStoppedByTheDaemon_beforeTheLock() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        long id;
        try (BrokerClient c = f.connect()) {
            c.send(runMessage("dev", List.of("sleep", "300")));
            Message started = Message.parse(c.receive().payload());
            assertEquals("started", started.type());
            id = started.number("run_id", -1);
            Thread stopper = new Thread(f.daemon::shutdown, "test-stop");
            stopper.start();
            Message m = Message.parse(c.receive().payload());
            stopper.join();
            assertEquals(ErrorCode.DAEMON_STOPPED.wire(), m.string("code"));
        }
        List<AuditEntry> all = f.entriesAfterStop();
        List<AuditEntry> exited = of(all, "run_exited", id);
        assertEquals(1, exited.size(), all.toString());
        assertEquals("daemon stopped", exited.get(0).string("reason"));
        AuditEntry last = all.get(all.size() - 1);
        assertEquals("locked", last.type().id());
        assertEquals("daemon stopping", last.string("reason"));
    }

    @Test
    void aCommandNotFound_isRecordedAsAskedAndNotStarted() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        try (BrokerClient c = f.connect()) {
            c.send(runMessage("dev", List.of("no-such-command-4f1a", "--flag")));
            Message m = Message.parse(c.receive().payload());
            assertEquals("error", m.type());
            assertEquals(ErrorCode.COMMAND_NOT_FOUND.wire(), m.string("code"));
        }
        List<AuditEntry> all = f.entriesAfterStop();
        List<AuditEntry> requested = of(all, "run_requested", -1);
        assertEquals(1, requested.size(), all.toString());
        assertEquals(List.of("no-such-command-4f1a", "--flag"), requested.get(0).strings("argv"));
        long id = requested.get(0).number("run_id");
        List<AuditEntry> exited = of(all, "run_exited", id);
        assertEquals(1, exited.size(), all.toString());
        assertEquals("not started: no-such-command-4f1a: command not found in PATH", exited.get(0).string("reason"));
        assertNull(exited.get(0).number("exit_code"), "no process, no exit code");
    }

    @Test
    void aCommandGoneBetweenApprovalAndStart_getsAnExitEntry_notStarted() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        Path script = Files.createDirectories(tmp.resolve("bin")).resolve("deploy");
        Files.writeString(script, "#!/bin/sh\necho deployed\n");
        script.toFile().setExecutable(true);
        long id;
        try (BrokerClient requester = f.connect(); BrokerClient approver = f.approver()) {
            requester.send(runMessage("prod", List.of(script.toString())));
            Message pending = Message.parse(requester.receive().payload());
            assertEquals("pending", pending.type());
            id = pending.number("run_id", -1);
            Files.delete(script);
            approver.call(approve(approver.call(Message.of("pending_list")).messages("runs").get(0)));
            DaemonProtocolTest.RunResult r = collect(requester);
            assertEquals("error", r.last().type(), r.toString());
        }
        List<AuditEntry> all = f.entriesAfterStop();
        assertEquals("approved", of(all, "run_decided", id).get(0).string("decision"));
        assertTrue(of(all, "run_started", id).isEmpty());
        List<AuditEntry> exited = of(all, "run_exited", id);
        assertEquals(1, exited.size(), all.toString());
        assertTrue(exited.get(0).string("reason").startsWith("not started: "), exited.get(0).string("reason"));
    }
}

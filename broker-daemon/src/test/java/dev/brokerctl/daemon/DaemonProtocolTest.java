package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon over its real socket, spoken to at the protocol level. */
class DaemonProtocolTest {

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

    /** A raw connection for sending bytes no well-behaved client would. */
    private SocketChannel raw() throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(f.socket));
        return ch;
    }

    private static Message readMessage(SocketChannel ch) throws Exception {
        Frame fr = Frame.read(new DataInputStream(java.nio.channels.Channels.newInputStream(ch)));
        assertNotNull(fr, "the daemon replied");
        return Message.parse(fr.payload());
    }

    private static void writeFrame(SocketChannel ch, byte kind, byte[] payload) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(5 + payload.length).putInt(payload.length + 1).put(kind).put(payload);
        b.flip();
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    @Test
    void malformedJson_getsBadRequest_andTheConnectionGoesOn() throws Exception {
        started();
        try (SocketChannel ch = raw()) {
            writeFrame(ch, Frame.JSON, "{not json".getBytes(StandardCharsets.UTF_8));
            Message m = readMessage(ch);
            assertEquals("error", m.type());
            assertEquals("bad_request", m.string("code"));
            writeFrame(ch, Frame.JSON, "[1,2]".getBytes(StandardCharsets.UTF_8));
            assertEquals("bad_request", readMessage(ch).string("code"));
            writeFrame(ch, Frame.JSON, "{\"type\":\"status\"}".getBytes(StandardCharsets.UTF_8));
            assertEquals("status", readMessage(ch).type());
        }
    }

    @Test
    void oversizedFrame_isRefused_andTheDaemonServesOthers() throws Exception {
        started();
        try (SocketChannel ch = raw()) {
            ByteBuffer b = ByteBuffer.allocate(5).putInt(Frame.MAX_FRAME_BYTES + 1).put(Frame.JSON);
            b.flip();
            ch.write(b);
            Message m = readMessage(ch);
            assertEquals("frame_too_large", m.string("code"));
            assertEquals(-1, ch.read(ByteBuffer.allocate(1)), "connection closed");
        }
        try (BrokerClient c = f.connect()) {
            assertEquals("status", c.call(Message.of("status")).type());
        }
    }

    @Test
    void unknownFrameKindOrMessageType_areRefused() throws Exception {
        started();
        try (BrokerClient c = f.connect()) {
            BrokerException e = assertThrows(BrokerException.class, () -> c.call(Message.of("launch_missiles")));
            assertEquals(ErrorCode.BAD_REQUEST, e.code());
        }
        try (SocketChannel ch = raw()) {
            writeFrame(ch, (byte) 'Q', new byte[3]);
            assertEquals("bad_request", readMessage(ch).string("code"));
        }
    }

    @Test
    void wrongProtocolVersion_isRefusedWithAdvice() throws Exception {
        started();
        Path marker = tmp.resolve("ran-under-another-protocol");
        try (SocketChannel ch = raw()) {
            // a client pipelines its first request behind the hello: that request must not run
            // in one write, as BrokerClient sends them: the daemon may close as soon as it read the hello
            byte[] hello = Message.of("hello").with("protocol", 99).toJson();
            byte[] run = runMessage("dev", List.of("touch", marker.toString())).toJson();
            ByteBuffer both = ByteBuffer.allocate(10 + hello.length + run.length)
                    .putInt(hello.length + 1).put(Frame.JSON).put(hello).putInt(run.length + 1).put(Frame.JSON).put(run);
            both.flip();
            while (both.hasRemaining()) {
                ch.write(both);
            }
            Message m = readMessage(ch);
            assertEquals("unsupported_protocol", m.string("code"));
            assertTrue(m.string("message").contains("restart the daemon"));
            try {
                assertNull(Frame.read(new DataInputStream(java.nio.channels.Channels.newInputStream(ch))),
                        "the daemon closed the connection without reading on");
            } catch (java.net.SocketException reset) {
                // closed with our pipelined request still unread: the kernel says so with a reset
            }
        }
        try (BrokerClient c = f.connect()) {
            c.call(Message.of("status"));   // the daemon serves others, and had nothing running
        }
        assertFalse(Files.exists(marker), "the request sent with a refused hello ran");
    }

    @Test
    void requesterWithoutPassphrase_cannotDecideOrListPending() throws Exception {
        started();
        try (BrokerClient c = f.connect()) {
            for (Message m : List.of(Message.of("pending_list"),
                    Message.of("decide").with("run_id", 1).with("decision", "approve"))) {
                BrokerException e = assertThrows(BrokerException.class, () -> c.call(m));
                assertEquals(ErrorCode.NOT_APPROVER, e.code());
            }
            BrokerException old = assertThrows(BrokerException.class,
                    () -> c.call(Message.of("authenticate"), "guess".getBytes(StandardCharsets.UTF_8)));
            assertEquals(ErrorCode.BAD_REQUEST, old.code());
            assertTrue(old.getMessage().contains("takes no passphrase over its socket"), old.getMessage());
            assertThrows(BrokerException.class, () -> c.call(Message.of("pending_list")));
        }
        try (BrokerClient a = f.approver()) {
            assertEquals("pending", a.call(Message.of("pending_list")).type());
        }
    }

    @Test
    void listings_carryNamesNeverValues() throws Exception {
        started();
        try (BrokerClient c = f.connect()) {
            Message envs = c.call(Message.of("list_environments"));
            assertEquals(2, envs.messages("environments").size());
            c.send(Message.of("list_variables").with("environment", "dev"));
            Frame reply = c.receive();
            String json = new String(reply.payload(), StandardCharsets.UTF_8);
            assertTrue(json.contains("\"TOKEN\""), json);
            assertFalse(json.contains(DaemonFixture.CANARY));
            BrokerException e = assertThrows(BrokerException.class,
                    () -> c.call(Message.of("list_variables").with("environment", "nope")));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
        }
    }

    @Test
    void lockedDaemon_refusesWork_untilUnlocked() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), false);
        try (BrokerClient c = f.connect()) {
            assertTrue(c.hello().bool("locked", false));
            BrokerException e = assertThrows(BrokerException.class, () -> c.call(Message.of("list_environments")));
            assertEquals(ErrorCode.LOCKED, e.code());
            assertTrue(e.getMessage().contains("brokerctl unlock"));
            BrokerException never = assertThrows(BrokerException.class, () -> f.unlockOverSocket());
            assertEquals(ErrorCode.LOCKED, never.code());
            assertTrue(never.getMessage().contains("never held the vault key"), never.getMessage());
            f.daemon.unlock(DaemonFixture.PASSPHRASE.toCharArray());   // the pipe route: in-process
            assertEquals(2, c.call(Message.of("list_environments")).messages("environments").size());
            c.call(Message.of("lock"));
            assertTrue(c.call(Message.of("status")).bool("locked", false));
            try (BrokerClient u = f.unlockOverSocket()) {
                assertTrue(u.sealed());
            }
            assertEquals(2, c.call(Message.of("list_environments")).messages("environments").size());
        }
    }

    @Test
    void idleVault_locksItself_afterTheIdlePeriod() throws Exception {
        started();
        try (BrokerClient c = f.connect()) {
            c.call(Message.of("list_environments"));
            f.clock.advance(Duration.ofMinutes(29));
            f.daemon.vault().lockIfIdle();
            assertFalse(c.call(Message.of("status")).bool("locked", true));
            f.clock.advance(Duration.ofMinutes(2));
            f.daemon.vault().lockIfIdle();
            assertTrue(c.call(Message.of("status")).bool("locked", false));
        }
    }

    @Test
    void autoRun_streamsMaskedOutput_andExitCode() throws Exception {
        started();
        RunResult r = run(f, "dev", List.of("sh", "-c", "echo \"$TOKEN\"; echo done >&2; exit 3"));
        assertEquals(List.of("started", "exit"), r.types);
        assertEquals("[MASKED:TOKEN]\n", r.stdout);
        assertEquals("done\n", r.stderr);
        assertEquals(3, r.last.number("exit_code", -1));
        assertEquals(1, r.last.number("masked_count", -1));
    }

    /** The value written to stderr only, raw and as hex: the stderr stream has its own masker. */
    @Test
    void autoRun_masksTheValueOnStderr_asOnStdout() throws Exception {
        started();
        RunResult r = run(f, "dev", List.of("sh", "-c",
                "echo \"err:$TOKEN\" >&2; printf %s \"$TOKEN\" | od -An -tx1 | tr -d ' \\n' >&2; echo >&2; echo out"));
        assertEquals("out\n", r.stdout);
        assertEquals("err:[MASKED:TOKEN]\n[MASKED:TOKEN]\n", r.stderr);
        assertEquals(2, r.last.number("masked_count", -1));
    }

    @Test
    void onlyTheNamedVariables_andTemplateReferences_areInjected() throws Exception {
        started();
        try (BrokerClient c = f.connect()) {
            c.send(runMessage("dev", List.of("sh", "-c", "echo \"only=${TOKEN:-unset} ref=${DB:-unset} other=${OTHER:-unset}\""))
                    .with("variables", List.of()).with("refs", List.of(Map.of("name", "DB", "environment", "dev",
                            "variable", "TOKEN"))));
            assertEquals("only=unset ref=[MASKED:DB] other=unset\n", collect(c).stdout());
        }
        try (BrokerClient c = f.connect()) {
            c.send(runMessage("dev", List.of("sh", "-c", "echo \"$TOKEN\"")).with("variables", List.of("MISSING")));
            Message error = collect(c).last();
            assertEquals("not_found", error.string("code"));
            assertTrue(error.string("message").contains("MISSING"), error.string("message"));
        }
    }

    @Test
    void promptRun_waits_thenRunsAfterApproval() throws Exception {
        started();
        try (BrokerClient requester = f.connect(); BrokerClient approver = f.approver()) {
            requester.send(runMessage("prod", List.of("sh", "-c", "echo ran")));
            Message pending = Message.parse(requester.receive().payload());
            assertEquals("pending", pending.type());
            long id = pending.number("run_id", -1);
            List<Message> listed = approver.call(Message.of("pending_list")).messages("runs");
            assertEquals(1, listed.size());
            assertEquals(List.of("sh", "-c", "echo ran"), listed.get(0).strings("argv"));
            Message wrongCode = Message.of("decide").with("run_id", id).with("decision", "approve")
                    .with("request_hash", listed.get(0).string("request_hash")).with("code", "AAA-AAA");
            assertEquals(ErrorCode.INVALID, assertThrows(BrokerException.class, () -> approver.call(wrongCode)).code());
            Message wrongHash = Message.of("decide").with("run_id", id).with("decision", "approve")
                    .with("request_hash", "0".repeat(64)).with("code", listed.get(0).string("code"));
            assertEquals(ErrorCode.INVALID, assertThrows(BrokerException.class, () -> approver.call(wrongHash)).code());
            approver.call(approve(listed.get(0)));
            RunResult r = collect(requester);
            assertEquals("ran\n", r.stdout);
            assertEquals(0, r.last.number("exit_code", -1));
            BrokerException again = assertThrows(BrokerException.class, () -> approver.call(approve(listed.get(0))));
            assertEquals(ErrorCode.NOT_FOUND, again.code(), "a decision is used once");
        }
    }

    @Test
    void watchingConsoles_seeNewRequests_andWhoDecidedFirst() throws Exception {
        started();
        try (BrokerClient a = f.approver(); BrokerClient b = f.approver(); BrokerClient requester = f.connect()) {
            a.call(Message.of("watch"));
            b.call(Message.of("watch"));
            requester.send(runMessage("prod", List.of("true")));
            Message addedA = Message.parse(a.receive().payload());
            Message addedB = Message.parse(b.receive().payload());
            assertEquals("pending_added", addedA.type());
            assertEquals("pending_added", addedB.type());
            Message decide = approve(addedA.message("run")).with("decided_by", "console A");
            a.send(decide);
            Message removedB = Message.parse(b.receive().payload());
            assertEquals("pending_removed", removedB.type());
            assertEquals("approved", removedB.string("outcome"));
            assertEquals("console A", removedB.string("decided_by"));
            collect(requester);
        }
    }

    @Test
    void promptRun_deniedByTheHuman_returnsTheMessage_andNeverStarts() throws Exception {
        started();
        try (BrokerClient requester = f.connect(); BrokerClient approver = f.approver()) {
            Path marker = tmp.resolve("ran");
            requester.send(runMessage("prod", List.of("touch", marker.toString())));
            long id = Message.parse(requester.receive().payload()).number("run_id", -1);
            approver.call(Message.of("decide").with("run_id", id).with("decision", "deny")
                    .with("message", "not on a Friday"));
            Message denied = Message.parse(requester.receive().payload());
            assertEquals("denied", denied.type());
            assertEquals("not on a Friday", denied.string("message"));
            assertFalse(Files.exists(marker));
        }
    }

    @Test
    void promptRun_nobodyDecides_isDeniedOnTimeout() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofMillis(300), true);
        try (BrokerClient requester = f.connect()) {
            requester.send(runMessage("prod", List.of("true")));
            assertEquals("pending", Message.parse(requester.receive().payload()).type());
            Message denied = Message.parse(requester.receive().payload());
            assertEquals("denied", denied.type());
            assertEquals("timed_out", denied.string("reason"));
            assertEquals("no approval within 300ms", denied.string("message"));
        }
    }

    @Test
    void requesterGoingAway_withdrawsItsPendingRun() throws Exception {
        started();
        try (BrokerClient approver = f.approver()) {
            try (BrokerClient requester = f.connect()) {
                requester.send(runMessage("prod", List.of("true")));
                assertEquals("pending", Message.parse(requester.receive().payload()).type());
                assertEquals(1, approver.call(Message.of("pending_list")).messages("runs").size());
            }
            // the daemon notices the closed connection on its own thread: poll its state
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!approver.call(Message.of("pending_list")).messages("runs").isEmpty()) {
                assertTrue(System.nanoTime() < deadline, "pending run withdrawn");
                Thread.onSpinWait();
            }
        }
    }

    @Test
    void missingCommand_isCommandNotFound_andNotExecutableIs126() throws Exception {
        started();
        RunResult r = run(f, "dev", List.of("definitely-not-a-command-xyz"));
        assertEquals("command_not_found", r.last.string("code"));
        Path script = tmp.resolve("not-exec.sh");
        Files.writeString(script, "#!/bin/sh\necho hi\n");
        RunResult r2 = run(f, "dev", List.of(script.toString()));
        assertEquals("command_not_executable", r2.last.string("code"));
    }

    @Test
    void secondDaemonOnTheSameSocket_refusesToStart() throws Exception {
        started();
        Daemon second = new Daemon(DaemonConfig.of(f.socket, f.vaultFile));
        Daemon.StartException e = assertThrows(Daemon.StartException.class, second::start);
        assertTrue(e.getMessage().contains("already running"), e.getMessage());
        try (BrokerClient c = f.connect()) {
            assertEquals("status", c.call(Message.of("status")).type(), "the first one still serves");
        }
    }

    @Test
    void staleSocketFile_isReplaced() throws Exception {
        f = new DaemonFixture(tmp);
        Files.createDirectories(f.socket.getParent(), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        try (var server = java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(f.socket));   // bound, then closed: a dead daemon's socket
        }
        assertTrue(Files.exists(f.socket));
        f.start(Duration.ofSeconds(120), true);
        try (BrokerClient c = f.connect()) {
            assertEquals("status", c.call(Message.of("status")).type());
        }
    }

    @Test
    void socketDirectoryThatIsNotPrivate_isRefused() throws Exception {
        f = new DaemonFixture(tmp);
        Files.createDirectories(f.socket.getParent());
        Files.setPosixFilePermissions(f.socket.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
        Daemon d = new Daemon(DaemonConfig.of(f.socket, f.vaultFile));
        Daemon.StartException e = assertThrows(Daemon.StartException.class, d::start);
        assertTrue(e.getMessage().contains("chmod 700"), e.getMessage());
        f = null;
    }

    @Test
    void shutdown_isIdempotent_andRemovesTheSocket() throws Exception {
        started();
        f.daemon.shutdown();
        f.daemon.shutdown();
        assertFalse(Files.exists(f.socket));
        assertThrows(BrokerException.class, () -> f.connect());
    }

    @Test
    void grant_letsTheSameRequestThrough_untilItExpires_andADifferentArgvStillPrompts() throws Exception {
        started();
        List<String> argv = List.of("sh", "-c", "echo granted");
        try (BrokerClient approver = f.approver()) {
            try (BrokerClient requester = f.connect()) {
                requester.send(runMessage("prod", argv));
                assertEquals("pending", Message.parse(requester.receive().payload()).type());
                Message pending = approver.call(Message.of("pending_list")).messages("runs").get(0);
                approver.call(Message.of("decide").with("run_id", pending.number("run_id", -1)).with("decision", "grant")
                        .with("grant_seconds", 15 * 60).with("request_hash", pending.string("request_hash"))
                        .with("code", pending.string("code")));
                assertEquals("granted\n", collect(requester).stdout());
            }
            assertEquals(1, approver.call(Message.of("grants_list")).messages("grants").size());

            f.clock.advance(Duration.ofMinutes(14));
            RunResult again = run(f, "prod", argv);
            assertEquals(List.of("started", "exit"), again.types(), "no prompt while the grant lives");

            try (BrokerClient other = f.connect()) {
                other.send(runMessage("prod", List.of("sh", "-c", "echo granted!")));
                assertEquals("pending", Message.parse(other.receive().payload()).type(), "one argv element differs");
            }

            f.clock.advance(Duration.ofMinutes(2));
            try (BrokerClient late = f.connect()) {
                late.send(runMessage("prod", argv));
                assertEquals("pending", Message.parse(late.receive().payload()).type(), "the grant expired");
            }
            assertTrue(approver.call(Message.of("grants_list")).messages("grants").isEmpty());
        }
    }

    @Test
    void grantLongerThanEightHours_isRefused_andRevokeAllEndsGrants() throws Exception {
        started();
        try (BrokerClient approver = f.approver(); BrokerClient requester = f.connect()) {
            requester.send(runMessage("prod", List.of("true")));
            Message.parse(requester.receive().payload());
            Message pending = approver.call(Message.of("pending_list")).messages("runs").get(0);
            Message tooLong = Message.of("decide").with("run_id", pending.number("run_id", -1)).with("decision", "grant")
                    .with("grant_seconds", 8 * 3600 + 1).with("request_hash", pending.string("request_hash"))
                    .with("code", pending.string("code"));
            assertEquals(ErrorCode.INVALID, assertThrows(BrokerException.class, () -> approver.call(tooLong)).code());
            approver.call(Message.of("decide").with("run_id", pending.number("run_id", -1)).with("decision", "grant")
                    .with("grant_seconds", 3600).with("request_hash", pending.string("request_hash"))
                    .with("code", pending.string("code")));
            collect(requester);
            try (BrokerClient anyone = f.connect()) {
                assertEquals(1, anyone.call(Message.of("grants_revoke").with("all", true)).number("revoked", -1),
                        "revoking only takes permission away: any requester may");
            }
            assertTrue(approver.call(Message.of("grants_list")).messages("grants").isEmpty());
        }
    }

    @Test
    void everyRunAndDecision_isInTheAuditLog_withNamesNeverValues() throws Exception {
        started();
        run(f, "dev", List.of("sh", "-c", "echo \"$TOKEN\""));
        try (BrokerClient requester = f.connect(); BrokerClient approver = f.approver()) {
            requester.send(runMessage("prod", List.of("true")));
            Message.parse(requester.receive().payload());
            Message pending = approver.call(Message.of("pending_list")).messages("runs").get(0);
            approver.call(approve(pending).with("decided_by", "test console"));
            collect(requester);
        }
        f.daemon.lock("test");   // appends the queued exit first
        try (var s = dev.brokerctl.vault.Vault.open(f.vaultFile).unlock(DaemonFixture.PASSPHRASE.toCharArray())) {
            var entries = s.auditEntries(null, null);
            List<String> types = entries.stream().map(e -> e.type().name()).toList();
            assertEquals(List.of("UNLOCKED", "RUN_REQUESTED", "RUN_DECIDED", "RUN_STARTED", "RUN_EXITED",
                    "RUN_REQUESTED", "RUN_DECIDED", "RUN_STARTED", "RUN_EXITED", "LOCKED"), types);
            var exit = entries.get(4);
            assertEquals(0L, exit.number("exit_code"));
            assertEquals(1L, exit.number("masked_count"));
            // the decider as the daemon verified it (this JVM's pid, from SO_PEERCRED); its label as claimed
            String decidedBy = entries.get(6).string("decided_by");
            assertTrue(decidedBy.startsWith("pid " + ProcessHandle.current().pid() + " /"), decidedBy);
            assertTrue(decidedBy.endsWith("(claims: test console)"), decidedBy);
            assertEquals(List.of("sh", "-c", "echo \"$TOKEN\""), entries.get(1).strings("argv"));
            assertFalse(entries.toString().contains(DaemonFixture.CANARY));
            entries.forEach(e -> assertFalse(e.details().toString().contains(DaemonFixture.CANARY)));
            assertTrue(s.verifyAudit().isIntact());
        }
    }

    @Test
    void thereIsNoProtocolMessageToSetValuesOrPolicies() throws Exception {
        started();
        try (BrokerClient c = f.approver()) {
            for (String type : List.of("set", "set_variable", "set_policy", "put", "unset")) {
                BrokerException e = assertThrows(BrokerException.class, () -> c.call(Message.of(type)
                        .with("environment", "prod").with("policy", "auto")));
                assertEquals(ErrorCode.BAD_REQUEST, e.code(), type);
            }
        }
    }

    @Test
    void requestedVariable_isProvidedByAnApprover_straightIntoTheVault() throws Exception {
        started();
        String value = "canary-provided-value-51aa";
        try (BrokerClient agent = f.connect(); BrokerClient approver = f.approver()) {
            agent.send(Message.of("request_variable").with("environment", "dev").with("name", "NEW_KEY")
                    .with("description", "the staging API key"));
            Message pending = Message.parse(agent.receive().payload());
            assertEquals("pending_variable", pending.type());
            long id = pending.number("request_id", -1);
            List<Message> listed = approver.call(Message.of("pending_list")).messages("variables");
            assertEquals(1, listed.size());
            assertEquals("NEW_KEY", listed.get(0).string("name"));
            assertEquals("the staging API key", listed.get(0).string("description"));

            BrokerException notApprover = assertThrows(BrokerException.class, () -> agent.call(
                    Message.of("provide_variable").with("request_id", id), "x".getBytes(StandardCharsets.UTF_8)));
            assertEquals(ErrorCode.NOT_APPROVER, notApprover.code());

            approver.call(Message.of("provide_variable").with("request_id", id),
                    value.getBytes(StandardCharsets.UTF_8));
            Frame answer = agent.receive();
            String json = new String(answer.payload(), StandardCharsets.UTF_8);
            assertEquals("variable_provided", Message.parse(answer.payload()).type());
            assertFalse(json.contains(value), "the value never goes back to the requester");
        }
        try (var s = dev.brokerctl.vault.Vault.open(f.vaultFile).unlock(DaemonFixture.PASSPHRASE.toCharArray());
                var r = s.resolve("dev", List.of("NEW_KEY"))) {
            assertEquals(value, new String(r.get("NEW_KEY").revealBytes(), StandardCharsets.UTF_8));
            assertEquals("the staging API key", s.listVariables("dev").items().stream()
                    .filter(v -> v.name().equals("NEW_KEY")).findFirst().orElseThrow().description());
        }
    }

    @Test
    void requestedVariable_canBeDeclined_andAnExistingOneIsAConflict() throws Exception {
        started();
        try (BrokerClient agent = f.connect(); BrokerClient approver = f.approver()) {
            BrokerException conflict = assertThrows(BrokerException.class, () -> agent.call(
                    Message.of("request_variable").with("environment", "dev").with("name", "TOKEN")));
            assertEquals(ErrorCode.CONFLICT, conflict.code());
            agent.send(Message.of("request_variable").with("environment", "dev").with("name", "OTHER"));
            long id = Message.parse(agent.receive().payload()).number("request_id", -1);
            approver.call(Message.of("decline_variable").with("request_id", id).with("message", "use TOKEN"));
            Message declined = Message.parse(agent.receive().payload());
            assertEquals("variable_declined", declined.type());
            assertEquals("use TOKEN", declined.string("message"));
        }
    }

    // ------------------------------------------------------------------ helpers

    /** An approval as a console sends it: with the request's hash and the code typed back. */
    static Message approve(Message pending) throws BrokerException {
        return Message.of("decide").with("run_id", pending.number("run_id", -1)).with("decision", "approve")
                .with("request_hash", pending.string("request_hash")).with("code", pending.string("code"));
    }

    static Message runMessage(String env, List<String> argv) {
        return Message.of("run").with("environment", env).with("argv", argv)
                .with("cwd", System.getProperty("user.dir"))
                .with("env", Map.of("PATH", System.getenv("PATH")));
    }

    record RunResult(List<String> types, String stdout, String stderr, Message last) {
    }

    static RunResult run(DaemonFixture f, String env, List<String> argv) throws Exception {
        try (BrokerClient c = f.connect()) {
            c.send(runMessage(env, argv));
            return collect(c);
        }
    }

    /** Reads frames until exit, denied or error. */
    static RunResult collect(BrokerClient c) throws Exception {
        List<String> types = new ArrayList<>();
        StringBuilder out = new StringBuilder();
        StringBuilder err = new StringBuilder();
        while (true) {
            Frame fr = c.receive();
            assertNotNull(fr, "connection closed before the run ended");
            if (fr.kind() == Frame.STDOUT) {
                out.append(new String(fr.payload(), StandardCharsets.UTF_8));
            } else if (fr.kind() == Frame.STDERR) {
                err.append(new String(fr.payload(), StandardCharsets.UTF_8));
            } else {
                Message m = Message.parse(fr.payload());
                types.add(m.type());
                if (List.of("exit", "denied", "error").contains(m.type())) {
                    assertFalse((out.toString() + err).contains(DaemonFixture.CANARY), "a value leaked");
                    return new RunResult(types, out.toString(), err.toString(), m);
                }
            }
        }
    }
}

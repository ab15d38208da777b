package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.ApproverKeys;
import dev.brokerctl.vault.Vault;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 as a same-user agent would try it (an unprivileged uid): a fake daemon at the socket
 * path, a relay that records or rewrites what passes, a symlinked or 0755 socket directory. Each
 * attack beside the same step against the real daemon, which goes through.
 */
class AuthenticationIT {

    static final String VALUE = "auth-canary-value-51c0a7e3";

    Unprivileged user;
    Path dir;
    Brokerctl b;
    Path attackerScript;
    final List<Process> attackers = new ArrayList<>();
    final List<Spawned> spawned = new ArrayList<>();
    Tmux console;

    @BeforeEach
    void setUp() throws Exception {
        user = Unprivileged.user();
        dir = user.newDirectory("brokerctl-auth-");
        b = new Brokerctl(dir).as(user);
        b.init();
        expectOk(b.run("env", "create", "prod"));
        expectOk(b.runWithInput(VALUE.getBytes(StandardCharsets.UTF_8), "set", "prod", "API_TOKEN"));
        attackerScript = dir.resolve("socket_attacker.py");
        try (InputStream in = AuthenticationIT.class.getResourceAsStream("socket_attacker.py")) {
            Files.copy(in, attackerScript);
        }
        user.own(attackerScript);
        console = new Tmux(dir.resolve("tmux.sock"), user.prefix(), 100, 40);
    }

    @AfterEach
    void tearDown() throws Exception {
        console.kill();
        for (Spawned s : spawned) {
            s.close();
        }
        for (Process p : attackers) {
            p.destroyForcibly().waitFor();
        }
        Path real = b.socket().resolveSibling("real.sock");
        if (Files.exists(real)) {   // the daemon behind a relay
            b.env.put("BROKERCTL_SOCKET", real.toString());
            b.run("stop");
            b.env.remove("BROKERCTL_SOCKET");
        }
        b.run("stop");
        assertFalse(b.transcript.toString().contains(VALUE), "a value in brokerctl's output");
        Brokerctl.deleteTree(dir);
    }

    // ------------------------------------------------------------------ a fake daemon

    @Test
    void aFakeDaemon_getsNothingUsable_fromUnlockApproveOrAForegroundDaemon_andTheRealOneWorks() throws Exception {
        // the probe: the real daemon, locked by a requester, is unlocked and approved against
        expectOk(b.run("daemon", "--detach"));
        expectOk(b.run("lock"));
        Brokerctl.Result unlocked = b.run("unlock");
        expectOk(unlocked);
        assertTrue(unlocked.out().contains("unlocked"), unlocked.toString());
        console.start(b, "approve");
        console.awaitScreen("watching for requests", Tmux.WAIT);
        console.kill();
        console = new Tmux(dir.resolve("tmux2.sock"), user.prefix(), 100, 40);

        // the agent stops the daemon and binds its own listener at the path
        expectOk(b.run("stop"));
        Path record = dir.resolve("fake.bytes");
        attack("fake", b.socket().toString(), record.toString());
        String impostor = "could not prove it holds your vault's key; it is not your brokerctl daemon."
                + " Stop it and start `brokerctl daemon` again.";

        Brokerctl.Result unlock = b.run("unlock");
        assertEquals(1, unlock.exit(), unlock.toString());
        assertTrue(unlock.err().contains("the process at " + b.socket() + " " + impostor), unlock.toString());
        Brokerctl.Result approve = b.runWithInput(new byte[0], "approve");
        assertEquals(1, approve.exit(), approve.toString());
        assertTrue(approve.err().contains(impostor), approve.toString());
        // the foreground daemon (with its console, in a terminal) does not talk to it at all
        console.start(b, "sh", "-c", b.launcher + " daemon; sleep 60");
        console.awaitScreen("cannot listen on", Tmux.WAIT);

        byte[] got = Files.readAllBytes(record);
        assertNothingUsable(got);
        String text = new String(got, StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("\"handshake\""), "the clients did start a handshake");
        assertFalse(text.contains("handshake_finish"), "no client proved anything to the fake");
        assertFalse(text.contains("unlock_key"), "no key went to the fake");
    }

    @Test
    void aWrongPassphraseAtApprove_failsBeforeAnyByteIsSent() throws Exception {
        Path record = dir.resolve("fake.bytes");
        Files.createDirectories(b.socket().getParent(), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        user.own(b.socket().getParent());
        attack("fake", b.socket().toString(), record.toString());
        Path wrong = dir.resolve("wrong-passphrase");
        Files.writeString(wrong, "not the passphrase at all\n");
        user.own(wrong);
        b.env.put("BROKERCTL_PASSPHRASE_FILE", wrong.toString());
        Brokerctl.Result approve = b.runWithInput(new byte[0], "approve");
        b.env.put("BROKERCTL_PASSPHRASE_FILE", b.passphraseFile.toString());
        assertEquals(1, approve.exit(), approve.toString());
        assertTrue(approve.err().contains("wrong passphrase"), approve.toString());
        assertFalse(Files.exists(record) && Files.size(record) > 0, "approve sent bytes before the passphrase opened the vault");
        // the probe: the right passphrase does talk to it (and refuses it)
        Brokerctl.Result right = b.runWithInput(new byte[0], "approve");
        assertEquals(1, right.exit(), right.toString());
        assertTrue(Files.size(record) > 0);
        assertNothingUsable(Files.readAllBytes(record));
    }

    // ------------------------------------------------------------------ a relay

    @Test
    void aRecordingRelay_seesNoPassphraseNorKey_andUnlockAndApprovalPassThrough() throws Exception {
        expectOk(b.run("daemon", "--detach"));
        Path real = relayInFront("none");
        expectOk(b.run("lock"));
        expectOk(b.run("unlock"));
        Path marker = dir.resolve("approved-through-relay");
        console.start(b, "approve");
        console.awaitScreen("watching for requests", Tmux.WAIT);
        Spawned run = track(b.start("run", "--env", "prod", "--", "touch", marker.toString()));
        console.awaitScreen("command: touch", Tmux.WAIT);
        String code = console.lastCode();
        console.answer("a");
        console.type(code);
        assertEquals(0, run.await(Tmux.WAIT).exit());
        assertTrue(Files.exists(marker));
        assertNothingUsable(Files.readAllBytes(dir.resolve("relay.bytes")));
        assertTrue(Files.exists(real));
    }

    @Test
    void aRelayThatRewritesWhatTheConsoleIsShown_isDetected_andNothingIsApproved() throws Exception {
        expectOk(b.run("daemon", "--detach", "--approval-timeout", "5s"));
        relayInFront("down");
        Path marker = dir.resolve("must-not-run");
        console.start(b, "sh", "-c", b.launcher + " approve; sleep 60");   // the screen stays after it stops
        console.awaitScreen("watching for requests", Tmux.WAIT);
        Spawned run = track(b.start("run", "--env", "prod", "--", "touch", marker.toString()));
        console.awaitScreen("STOPPED: a message from", Tmux.WAIT);
        assertFalse(console.screen().contains("command: touch"), "the rewritten request was not shown");
        assertEquals(1, run.await(Tmux.WAIT).exit());
        assertFalse(Files.exists(marker));
    }

    @Test
    void aRelayThatRewritesTheHumansDecision_isDetectedByTheDaemon_andNothingRuns() throws Exception {
        expectOk(b.run("daemon", "--detach", "--approval-timeout", "8s"));
        relayInFront("up");
        Path marker = dir.resolve("must-not-run");
        console.start(b, "approve");
        console.awaitScreen("watching for requests", Tmux.WAIT);
        Spawned run = track(b.start("run", "--env", "prod", "--", "touch", marker.toString()));
        console.awaitScreen("command: touch", Tmux.WAIT);
        String code = console.lastCode();
        console.answer("a");
        console.type(code);
        Brokerctl.Result r = run.await(Tmux.WAIT);
        assertEquals(1, r.exit(), r.toString());
        assertFalse(Files.exists(marker), "a rewritten decision was applied");
        String log = Files.readString(b.home.resolve("brokerd.log"));
        assertTrue(log.contains("something rewrites this connection"), log);
    }

    // ------------------------------------------------------------------ the socket directory

    @Test
    void aSymlinkedOr0755SocketDirectory_isRefusedByEveryClientCommand_aCleanOneWorks() throws Exception {
        expectOk(b.run("daemon", "--detach"));
        Path realDir = b.socket().getParent();
        Path link = dir.resolve("linked-run");
        Files.createSymbolicLink(link, realDir);
        user.ownLink(link);
        List<String[]> commands = List.of(new String[] {"status"}, new String[] {"lock"}, new String[] {"unlock"},
                new String[] {"approve"}, new String[] {"grants"}, new String[] {"run", "--env", "prod", "--", "true"},
                new String[] {"stop"});
        for (String[] c : commands) {
            b.env.put("BROKERCTL_SOCKET", link.resolve("brokerd.sock").toString());
            Brokerctl.Result r = b.runWithInput(new byte[0], c);
            assertEquals(c[0].equals("run") ? 125 : 1, r.exit(), String.join(" ", c) + ": " + r);
            assertTrue(r.err().contains("is a symbolic link"), String.join(" ", c) + ": " + r);
        }
        Path open = Files.createDirectories(dir.resolve("open-run"));
        user.own(open);
        Path openSocket = open.resolve("brokerd.sock");
        attack("fake", openSocket.toString(), dir.resolve("open.bytes").toString());
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
        for (String[] c : commands) {
            b.env.put("BROKERCTL_SOCKET", openSocket.toString());
            Brokerctl.Result r = b.runWithInput(new byte[0], c);
            assertEquals(c[0].equals("run") ? 125 : 1, r.exit(), String.join(" ", c) + ": " + r);
            assertTrue(r.err().contains("has mode 0755") && r.err().contains("chmod 700"), String.join(" ", c) + ": " + r);
        }
        assertFalse(Files.exists(dir.resolve("open.bytes")), "no client sent a byte through a 0755 directory");
        b.env.remove("BROKERCTL_SOCKET");
        expectOk(b.run("status"));
    }

    // ------------------------------------------------------------------ helpers

    /** Moves the real socket aside and puts a relay (as the agent's user) at its path. */
    private Path relayInFront(String tamper) throws Exception {
        Path real = b.socket().resolveSibling("real.sock");
        Files.move(b.socket(), real);
        attack("relay", b.socket().toString(), real.toString(), dir.resolve("relay.bytes").toString(), tamper);
        return real;
    }

    private void attack(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", attackerScript.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(user.command(cmd.toArray(String[]::new))).redirectErrorStream(true).start();
        attackers.add(p);
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertEquals("listening", line, "the attacker did not bind");
    }

    private Spawned track(Spawned s) {
        spawned.add(s);
        return s;
    }

    /** No form of the passphrase, the approver key or the unlock verifier in {@code bytes}. */
    private void assertNothingUsable(byte[] bytes) throws Exception {
        List<byte[]> secrets = new ArrayList<>();
        secrets.add(Brokerctl.PASSPHRASE.getBytes(StandardCharsets.UTF_8));
        try (ApproverKeys k = Vault.open(b.home.resolve("vault.db")).approverKeys(Brokerctl.PASSPHRASE.toCharArray())) {
            secrets.add(k.approverKey());
            secrets.add(k.unlockVerifier());
        }
        secrets.add(VALUE.getBytes(StandardCharsets.UTF_8));
        String latin = new String(bytes, StandardCharsets.ISO_8859_1);
        for (byte[] s : secrets) {
            List<String> forms = List.of(new String(s, StandardCharsets.ISO_8859_1),
                    Base64.getEncoder().encodeToString(s), Base64.getEncoder().withoutPadding().encodeToString(s),
                    Base64.getUrlEncoder().withoutPadding().encodeToString(s), HexFormat.of().formatHex(s),
                    HexFormat.of().withUpperCase().formatHex(s));
            for (String form : forms) {
                assertFalse(latin.contains(form.length() > 24 ? form.substring(0, 24) : form),
                        "a secret (or a 24-character piece of one) crossed the socket");
            }
        }
    }

    private static void expectOk(Brokerctl.Result r) {
        assertEquals(0, r.exit(), r.toString());
    }
}

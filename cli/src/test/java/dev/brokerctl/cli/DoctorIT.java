package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real {@code bin/brokerctl doctor} on this machine: its exit code agrees with its findings, a
 * writable install, a credential fixture and a secret-looking variable are reported (the variable by
 * name, its value nowhere), and as the unprivileged user bwrap is usable and a running daemon is
 * reported hardened.
 */
class DoctorIT {

    static final String CANARY = "doctor-canary-7e21b9d4";

    @TempDir
    Path tmp;
    Path userDir;
    Brokerctl b;
    boolean daemonRunning;

    @AfterEach
    void tearDown() throws IOException {
        try {
            if (daemonRunning) {
                Brokerctl.Result stop = b.run("stop");
                assertEquals(0, stop.exit(), stop.toString());
            }
            assertFalse(b.transcript.toString().contains(CANARY), "a variable's value was printed");
        } finally {
            if (userDir != null) {
                Brokerctl.deleteTree(userDir);
            }
        }
    }

    /** {@code doctor --json}'s findings by id: {status, text, fix}. */
    static Map<String, Message> findings(Brokerctl.Result r) throws BrokerException {
        Message m = Message.parse(r.out().trim().getBytes(StandardCharsets.UTF_8));
        Map<String, Message> byId = new LinkedHashMap<>();
        long needsFixing = 0;
        for (Message f : m.messages("findings")) {
            byId.put(f.string("id"), f);
            String status = f.string("status");
            assertTrue(List.of("ok", "info", "warn", "fail").contains(status), f.toString());
            assertTrue(f.has("text") && f.has("fix"), f.toString());
            if (status.equals("warn") || status.equals("fail")) {
                needsFixing++;
                assertFalse(f.string("fix").isEmpty(), "a finding that needs fixing names its fix: " + f);
            }
        }
        assertEquals(needsFixing, m.number("needs_fixing", -1));
        assertEquals(needsFixing == 0 ? 0 : 1, r.exit(), "the exit code must agree with the findings:\n" + r);
        return byId;
    }

    static void assertStatus(String status, String id, Map<String, Message> findings) throws BrokerException {
        Message f = findings.get(id);
        assertTrue(f != null, "no finding " + id + " in " + findings.keySet());
        assertEquals(status, f.string("status"), f.toString());
    }

    @Test
    void doctor_reportsTheWritableInstall_credentialFiles_andSecretNamesByNameOnly() throws Exception {
        b = new Brokerctl(tmp);
        Path home = tmp.resolve("user");
        Files.createDirectories(home.resolve(".aws"));
        Files.writeString(home.resolve(".aws/credentials"), "[default]\naws_secret_access_key = " + CANARY + "\n");
        b.env.put("HOME", home.toString());
        b.env.put("DOCTOR_TEST_TOKEN", CANARY);
        b.env.remove("BROKERCTL_PASSPHRASE_FILE");   // doctor needs none; its name alone would be a finding too

        Brokerctl.Result json = b.run("doctor", "--json");
        assertEquals("", json.err(), json.toString());
        Map<String, Message> f = findings(json);
        assertStatus("warn", "secret-env", f);
        assertEquals("secret-looking variables in this environment (names only): DOCTOR_TEST_TOKEN",
                f.get("secret-env").string("text"));
        assertStatus("info", "credentials", f);
        assertTrue(f.get("credentials").string("text").contains("~/.aws/credentials"), f.get("credentials").toString());
        // the build tree belongs to whoever built it: this JVM's user can replace it
        assertStatus("warn", "install", f);
        assertTrue(f.get("install").string("text").contains("brokerctl.jar"), f.get("install").toString());
        assertStatus("warn", "launcher", f);
        assertTrue(f.get("launcher").string("text").contains(b.launcher.toString()), f.get("launcher").toString());
        assertStatus("info", "daemon", f);
        assertTrue(f.containsKey("runs-contained") && f.containsKey("tiocsti") && f.containsKey("ptrace-scope")
                && f.containsKey("abstract-sockets") && f.containsKey("home") && f.containsKey("socket-dir"),
                f.keySet().toString());

        Brokerctl.Result text = b.run("doctor");
        assertEquals(json.exit(), text.exit(), text.toString());
        assertTrue(text.out().contains("WARN  secret-env        secret-looking variables in this environment (names"
                + " only): DOCTOR_TEST_TOKEN"), text.out());
        assertTrue(text.out().contains("~/.aws/credentials"), text.out());
        long needsFixing = f.values().stream().filter(m -> {
            String s = m.asMap().get("status").toString();
            return s.equals("warn") || s.equals("fail");
        }).count();
        assertTrue(text.out().endsWith(needsFixing + " of " + f.size() + " findings need fixing\n"), text.out());
        for (Brokerctl.Result r : List.of(json, text)) {
            assertFalse(r.out().contains(CANARY) || r.err().contains(CANARY), "the value was printed:\n" + r);
        }
    }

    @Test
    void doctor_withNothingSecretInTheEnvironment_saysSo() throws Exception {
        b = new Brokerctl(tmp);
        b.env.remove("BROKERCTL_PASSPHRASE_FILE");
        b.env.put("HOME", tmp.toString());
        Map<String, Message> f = findings(b.run("doctor", "--json"));
        assertStatus("ok", "secret-env", f);
        assertStatus("ok", "credentials", f);
        b.env.put("BROKERCTL_PASSPHRASE_FILE", b.passphraseFile.toString());
        f = findings(b.run("doctor", "--json"));
        assertEquals("secret-looking variables in this environment (names only): BROKERCTL_PASSPHRASE_FILE",
                f.get("secret-env").string("text"));
    }

    @Test
    void doctor_asTheUnprivilegedUser_bwrapIsUsable_andTheDaemonIsHardened() throws Exception {
        Unprivileged user = Unprivileged.user();
        userDir = user.newDirectory("brokerctl-doctor-");
        b = new Brokerctl(userDir).as(user);
        b.env.put("HOME", userDir.toString());
        b.init();
        Brokerctl.Result started = b.run("daemon", "--detach");
        assertEquals(0, started.exit(), started.toString());
        daemonRunning = true;
        long pid = b.daemonPid();
        b.env.remove("BROKERCTL_PASSPHRASE_FILE");

        Brokerctl.Result r = b.run("doctor", "--json");
        Map<String, Message> f = findings(r);
        assertStatus("ok", "bwrap", f);
        assertStatus("ok", "bwrap-usable", f);
        assertStatus("ok", "runs-contained", f);
        assertStatus("ok", "home", f);
        assertStatus("ok", "vault-files", f);
        assertStatus("ok", "socket-dir", f);
        assertStatus("ok", "daemon", f);
        assertEquals("a daemon is running (pid " + pid + "), unlocked", f.get("daemon").string("text"));
        assertStatus("ok", "daemon-dumpable", f);   // its /proc entries belong to root, not to its user
        assertStatus("ok", "daemon-attach", f);
        if (user.switches()) {
            // the build tree is root's, 0755 all the way up: the test user cannot replace it
            assertStatus("ok", "install", f);
            assertStatus("ok", "launcher", f);
        }
    }
}

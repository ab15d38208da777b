package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Handshake;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's file descriptors and its hold on the vault file (issue 12): 100 failed
 * authentications leave its descriptor count where it was; the vault path replaced or removed
 * under a running daemon makes it lock itself, refuse to write, log why and say so in status.
 */
class VaultFilesIT {

    static final String CANARY = "canary-files-90ab12cd";

    @TempDir
    Path tmp;
    Brokerctl b;
    boolean running;

    @BeforeEach
    void setUp() throws Exception {
        b = new Brokerctl(tmp);
        b.init();
        ok(b.run("env", "create", "dev", "--policy", "auto"));
        ok(b.runWithInput(CANARY.getBytes(StandardCharsets.UTF_8), "set", "dev", "TOKEN"));
        ok(b.run("daemon", "--detach"));
        running = true;
    }

    @AfterEach
    void stop() {
        if (running) {
            ok(b.run("stop"));
        }
        assertFalse(b.transcript.toString().contains(CANARY), "a value reached brokerctl's output");
    }

    private static void ok(Brokerctl.Result r) {
        assertEquals(0, r.exit(), r.toString());
    }

    private static long fds(long pid) throws Exception {
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return s.count();
        }
    }

    private void failedAuthentications(int n) throws Exception {
        SecureRandom random = new SecureRandom();
        for (int i = 0; i < n; i++) {
            byte[] wrong = new byte[32];
            random.nextBytes(wrong);
            Handshake.Role role = i % 2 == 0 ? Handshake.Role.APPROVER : Handshake.Role.UNLOCK;
            try (BrokerClient c = BrokerClient.connect(b.socket(), Map.of("name", "fd-probe"))) {
                assertThrows(BrokerException.class, () -> c.authenticate(role, wrong, random));
            }
        }
    }

    /** The daemon closes a refused connection on its own thread: poll its fd table (its state) until it settles. */
    private static long settledFds(long pid, long target) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        long n = fds(pid);
        while (n > target && System.nanoTime() < deadline) {
            Thread.onSpinWait();
            n = fds(pid);
        }
        return n;
    }

    @Test
    void hundredFailedAuthentications_leaveTheDaemonsDescriptorCountUnchanged() throws Exception {
        long pid = b.daemonPid();
        failedAuthentications(5);   // first use loads what it loads (classes, the jar's entries)
        long before = settledFds(pid, 0);
        failedAuthentications(100);
        long after = settledFds(pid, before);
        assertEquals(before, after, "descriptors of the daemon before and after 100 failed authentications");
        try (BrokerClient c = b.approver("fd-control")) {   // control: the right key still authenticates
            assertTrue(c != null);
        }
        // and locked: the unlock handshake refused 100 times over, then the real unlock works
        ok(b.run("lock"));
        long locked = settledFds(pid, 0);
        failedAuthentications(100);
        assertEquals(locked, settledFds(pid, locked), "descriptors of the locked daemon after 100 failed unlocks");
        ok(b.run("unlock"));
        ok(b.run("run", "--env", "dev", "--", "true"));
    }

    @Test
    void vaultReplacedUnderTheDaemon_locksIt_refusesToWrite_andStatusSaysWhy() throws Exception {
        ok(b.run("run", "--env", "dev", "--", "true"));   // control: served from the file it opened
        Path vault = b.home.resolve("vault.db");
        Path copy = tmp.resolve("copy.db");
        Files.copy(vault, copy);
        Files.move(copy, vault, StandardCopyOption.REPLACE_EXISTING);   // another inode at the path
        Brokerctl.Result r = b.run("run", "--env", "dev", "--", "true");
        assertNotEquals(0, r.exit(), r.toString());
        assertTrue(r.err().contains("was replaced (the path now names another file"), r.toString());
        Brokerctl.Result status = b.run("status");
        assertTrue(status.out().contains("LOCKED") && status.out().contains("vault:    REFUSED: the vault file "),
                status.toString());
        assertTrue(Files.readString(b.home.resolve("brokerd.log")).contains("vault locked: the vault file"));
        Brokerctl.Result again = b.run("run", "--env", "dev", "--", "true");
        assertTrue(again.err().contains("was replaced"), again.toString());
    }

    @Test
    void vaultDeletedUnderTheDaemon_locksIt() throws Exception {
        Path vault = b.home.resolve("vault.db");
        Files.move(vault, tmp.resolve("moved-away.db"));
        Brokerctl.Result r = b.run("run", "--env", "dev", "--", "true");
        assertNotEquals(0, r.exit(), r.toString());
        assertTrue(r.err().contains("was deleted or moved away while the daemon held it unlocked"), r.toString());
    }
}

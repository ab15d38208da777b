package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole-file rollback (issue 12): an older copy of vault.db put back, under a running daemon and
 * while it was stopped, is refused with what happened and how to accept it on purpose; {@code
 * brokerctl doctor --accept-rollback} accepts it, audited. The control: the same restart without
 * a rollback works. The documented limit too: the vault and its mark both rolled back while no
 * daemon ran is accepted (nothing in the files can tell).
 */
class VaultRollbackIT {

    static final String CANARY = "canary-rollback-51c0de9a";

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
    }

    @AfterEach
    void stop() {
        if (running) {
            ok(b.run("stop"));
        }
        assertFalse(b.transcript.toString().contains(CANARY), "a value reached brokerctl's output");
    }

    private Path vault() {
        return b.home.resolve("vault.db");
    }

    private Path saveCopy(String name) throws Exception {
        Path copy = tmp.resolve(name);
        Files.copy(vault(), copy, StandardCopyOption.REPLACE_EXISTING);
        assertFalse(Files.exists(b.home.resolve("vault.db-wal")) && Files.size(b.home.resolve("vault.db-wal")) > 0,
                "the copy must be the whole vault (no daemon holds a WAL)");
        return copy;
    }

    /** The rollback as a same-user process makes it, through SQLite's own locking (the sqlite3 CLI's .restore). */
    private void restore(Path copy) throws Exception {
        Process p = new ProcessBuilder("sqlite3", vault().toString(), ".restore '" + copy + "'")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "sqlite3 .restore: " + out);
    }

    private void startDaemon() {
        Brokerctl.Result r = b.run("daemon", "--detach");
        assertEquals(0, r.exit(), r.toString());
        running = true;
    }

    private static void ok(Brokerctl.Result r) {
        assertEquals(0, r.exit(), r.toString());
    }

    @Test
    void rollbackUnderARunningDaemon_isRefused_andTheDaemonLocks() throws Exception {
        Path old = saveCopy("old.db");
        ok(b.run("env", "policy", "dev", "prompt"));   // the change the attacker wants undone
        startDaemon();
        assertTrue(Files.exists(b.home.resolve("vault.db.mark")), "the daemon records its mark");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(b.home.resolve("vault.db.mark"))));
        ok(b.run("env", "policy", "dev", "auto"));
        ok(b.run("run", "--env", "dev", "--", "true"));   // control: the daemon serves the current vault
        restore(old);
        Brokerctl.Result r = b.run("run", "--env", "dev", "--", "true");
        assertNotEquals(0, r.exit(), r.toString());
        assertTrue(r.err().contains("went back in time") && r.err().contains("brokerctl doctor --accept-rollback"),
                r.toString());
        Brokerctl.Result again = b.run("run", "--env", "dev", "--", "true");
        assertNotEquals(0, again.exit(), again.toString());
        assertTrue(Files.readString(b.home.resolve("brokerd.log")).contains("refusing the vault: the vault file"));
    }

    @Test
    void rollbackWhileStopped_isRefusedAtStart_untilAccepted() throws Exception {
        startDaemon();
        ok(b.run("run", "--env", "dev", "--", "true"));
        ok(b.run("stop"));
        running = false;
        Path old = saveCopy("old.db");
        startDaemon();   // control: a restart without a rollback works
        ok(b.run("run", "--env", "dev", "--", "true"));
        ok(b.run("stop"));
        running = false;

        restore(old);
        Brokerctl.Result refused = b.run("daemon", "--detach");
        assertNotEquals(0, refused.exit(), refused.toString());
        assertTrue((refused.out() + refused.err()).contains("went back in time"), refused.toString());

        Brokerctl.Result accept = b.run("doctor", "--accept-rollback");
        assertEquals(0, accept.exit(), accept.toString());
        assertTrue(accept.out().contains("accepted the vault at state"), accept.toString());
        startDaemon();
        ok(b.run("run", "--env", "dev", "--", "true"));
        Brokerctl.Result audit = b.run("audit", "--json");
        assertTrue(audit.out().contains("rollback_accepted"), audit.toString());
    }

    @Test
    void acceptRollback_isRefusedWhileADaemonRuns() {
        startDaemon();
        Brokerctl.Result r = b.run("doctor", "--accept-rollback");
        assertNotEquals(0, r.exit(), r.toString());
        assertTrue(r.err().contains("a daemon is running"), r.toString());
    }

    /** The limit: with no daemon running, the vault and its mark put back together cannot be told apart. */
    @Test
    void vaultAndMarkBothRolledBackWhileStopped_isNotDetected_theDocumentedLimit() throws Exception {
        startDaemon();
        ok(b.run("stop"));
        running = false;
        Path old = saveCopy("old.db");
        Path oldMark = tmp.resolve("old.mark");
        Files.copy(b.home.resolve("vault.db.mark"), oldMark);
        startDaemon();
        ok(b.run("run", "--env", "dev", "--", "true"));
        ok(b.run("stop"));
        running = false;
        restore(old);
        Files.copy(oldMark, b.home.resolve("vault.db.mark"), StandardCopyOption.REPLACE_EXISTING);
        startDaemon();
        ok(b.run("run", "--env", "dev", "--", "true"));
    }

    // ------------------------------------------------------------ passwd --rekey

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void passwdRekey_replacesTheKey_leavesNoOldWrappedKeyInVaultDbStar_andKeepsTheMark() throws Exception {
        startDaemon();
        ok(b.run("run", "--env", "dev", "--", "true"));
        Brokerctl.Result refused = b.run("passwd", "--rekey");
        assertNotEquals(0, refused.exit(), refused.toString());
        assertTrue(refused.err().contains("a daemon is running"), refused.toString());
        ok(b.run("stop"));
        running = false;
        byte[] oldSlot;
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + vault());
                java.sql.ResultSet rs = c.createStatement().executeQuery("SELECT wrapped_key FROM keyslot")) {
            rs.next();
            oldSlot = rs.getBytes(1);
        }
        Path fresh = tmp.resolve("new-passphrase");
        Files.writeString(fresh, "a brand new passphrase for the rekey\n");
        b.env.put("BROKERCTL_NEW_PASSPHRASE_FILE", fresh.toString());
        Brokerctl.Result r = b.run("passwd", "--rekey");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("passphrase changed and vault key replaced: ") && r.out().contains("items re-sealed")
                && r.out().contains("write-ahead log checkpointed and emptied"), r.toString());
        try (Stream<Path> files = Files.list(b.home)) {
            for (Path p : files.filter(p -> p.getFileName().toString().startsWith("vault.db")).toList()) {
                assertEquals(-1, indexOf(Files.readAllBytes(p), oldSlot), "the old wrapped key is still in " + p);
            }
        }
        Brokerctl.Result old = b.run("list");
        assertNotEquals(0, old.exit(), old.toString());   // the old passphrase opens nothing
        b.env.put("BROKERCTL_PASSPHRASE_FILE", fresh.toString());
        startDaemon();   // the mark was carried over to the new key: accepted
        ok(b.run("run", "--env", "dev", "--", "true"));
        ok(b.run("stop"));
        running = false;
        Brokerctl.Result plain = b.run("passwd");
        assertEquals(0, plain.exit(), plain.toString());
        assertTrue(plain.out().contains("the vault key was re-wrapped, not replaced")
                && plain.out().contains("write-ahead log checkpointed"), plain.toString());
    }
}

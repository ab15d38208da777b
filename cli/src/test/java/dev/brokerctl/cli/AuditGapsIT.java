package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the audit log and the daemon's log say about entries that could not be written: the real
 * daemon on a 2 MiB tmpfs home filled to its last byte (mounting needs root: this tests
 * durability, not an attack, and is skipped without it), its {@code brokerd.log} bind-mounted from
 * a roomier disk so the log can say what happened while the home is full.
 */
class AuditGapsIT {

    static final String CANARY = "canary-audit-gaps-value-51c2e7";

    @TempDir
    Path tmp;
    Brokerctl b;
    final List<Path> mounts = new ArrayList<>();
    boolean daemonRunning;

    @AfterEach
    void cleanUp() throws Exception {
        if (b == null) {
            return;
        }
        try {
            if (daemonRunning) {
                b.run("stop");
            }
        } finally {
            for (int i = mounts.size() - 1; i >= 0; i--) {
                if (sh("umount", mounts.get(i).toString()) != 0) {
                    sh("umount", "-l", mounts.get(i).toString());
                }
            }
        }
        assertFalse(b.transcript.toString().contains(CANARY), "a value reached the terminal");
    }

    private static int sh(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), String.join(" ", argv));
        return p.exitValue();
    }

    /** Fills the file system to its last byte: large writes, then single bytes until ENOSPC. */
    private static void fill(Path filler) throws IOException {
        try (FileOutputStream out = new FileOutputStream(filler.toFile())) {
            byte[] chunk = new byte[64 * 1024];
            try {
                while (true) {
                    out.write(chunk);
                }
            } catch (IOException full) {
                // now byte by byte into what is left
            }
            try {
                while (true) {
                    out.write(0);
                }
            } catch (IOException full) {
                assertTrue(String.valueOf(full.getMessage()).contains("No space left"), full.toString());
            }
        }
    }

    @Test
    void fullDisk_theFailedRunSaysSoInTheLog_andTheLockIsWrittenAtTheNextUnlock() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root");
        b = new Brokerctl(tmp);
        Files.createDirectories(b.home);
        assumeTrue(sh("mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", b.home.toString()) == 0,
                "tmpfs could not be mounted here");
        mounts.add(b.home);
        Path outsideLog = Files.createFile(tmp.resolve("brokerd.log"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Path log = Files.createFile(b.home.resolve("brokerd.log"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        assertEquals(0, sh("mount", "--bind", outsideLog.toString(), log.toString()), "bind-mount the log");
        mounts.add(log);

        b.init();
        assertEquals(0, b.run("env", "create", "dev").exit());
        assertEquals(0, b.run("env", "policy", "dev", "auto").exit());
        assertEquals(0, b.runWithInput(CANARY.getBytes(StandardCharsets.UTF_8), "set", "dev", "TOKEN").exit());
        Brokerctl.Result started = b.run("daemon", "--detach");
        assertEquals(0, started.exit(), started.toString());
        daemonRunning = true;
        Brokerctl.Result ok = b.run("run", "--env", "dev", "--", "sh", "-c", "echo \"$TOKEN\"");
        assertEquals(0, ok.exit(), ok.toString());

        Path filler = b.home.resolve("filler");
        fill(filler);
        Brokerctl.Result full = b.run("run", "--env", "dev", "--", "true");
        assertNotEquals(0, full.exit(), full.toString());
        assertTrue(full.err().contains("is full"), full.toString());
        Brokerctl.Result lock = b.run("lock");
        assertEquals(0, lock.exit(), lock.toString());
        Files.delete(filler);
        Brokerctl.Result unlock = b.run("unlock");
        assertEquals(0, unlock.exit(), unlock.toString());
        Brokerctl.Result stop = b.run("stop");
        assertEquals(0, stop.exit(), stop.toString());
        daemonRunning = false;

        String daemonLog = Files.readString(outsideLog);
        assertFalse(daemonLog.contains(CANARY), "a value in the log");
        assertFalse(daemonLog.contains("(null)") || daemonLog.contains(": null"), daemonLog);
        assertTrue(daemonLog.matches("(?s).*run \\d+ failed: the disk holding \\S+ is full; nothing was written.*"),
                daemonLog);
        assertTrue(daemonLog.contains("audit entries could not be written: the disk holding"), daemonLog);

        Brokerctl.Result audit = b.run("audit");
        assertEquals(0, audit.exit(), audit.toString());
        List<String> types = audit.out().lines().map(l -> l.split("\\s+")[3]).toList();
        assertEquals(List.of("environment_created", "policy_changed", "variable_set", "unlocked", "run_requested", "run_decided", "run_started", "run_exited", "locked",
                "unlocked", "locked"), types, audit.out());
        // The lock's entry is never lost: written late at the next unlock (with happened_at) when the
        // disk had no room, or on time when SQLite found room after all (it reuses the WAL's space;
        // seen in CI). AuditDiskFullTest pins the late case down in one JVM.
        String lock1 = audit.out().lines().filter(l -> l.contains(" locked ")).findFirst().orElseThrow();
        assertTrue(lock1.contains("reason=requested"), lock1);
    }

    @Test
    void auditVerify_showsTheGapsTheDaemonRecorded_andAuditListsThem() throws Exception {
        b = new Brokerctl(tmp).init();
        try (VaultSession s = Vault.open(b.home.resolve("vault.db")).unlock(Brokerctl.PASSPHRASE.toCharArray())) {
            s.audit(AuditEvent.UNLOCKED, null, AuditDetails.of(AuditDetails.SOURCE, "daemon"));
            // as the daemon writes it after giving entries up (VaultHolder; AuditDiskFullTest)
            s.audit(AuditEvent.RECORDS_LOST, null, AuditDetails.of(AuditDetails.COUNT, 3,
                    AuditDetails.EVENTS, List.of("run_exited:2", "run_started:1"),
                    AuditDetails.REASON, "1024 entries were already waiting to be written (the disk is full)"));
        }
        Brokerctl.Result verify = b.run("audit", "verify");
        assertEquals(0, verify.exit(), "a recorded gap is not damage: " + verify);
        List<String> lines = verify.out().lines().toList();
        assertEquals("audit log intact: 2 entries", lines.get(0), verify.out());
        assertEquals(2, lines.size(), verify.out());
        assertTrue(lines.get(1).matches("entry 2 \\(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\) records a gap: 3 entries the"
                + " daemon could not write were lost \\(run_exited:2, run_started:1\\): 1024 entries were already"
                + " waiting to be written \\(the disk is full\\)"), lines.get(1));
        Brokerctl.Result audit = b.run("audit");
        assertTrue(audit.out().lines().anyMatch(l -> l.contains("records_lost") && l.contains("count=3")
                && l.contains("events=[\"run_exited:2\",\"run_started:1\"]")), audit.out());
    }
}

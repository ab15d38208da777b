package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEntry;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Audit entries on a full disk: the vault's home is a 2 MiB tmpfs filled to its last byte, so
 * SQLite's appends really fail with {@code SQLITE_FULL}. Mounting needs root; this tests durability,
 * not an attack, so it runs as root where the build does, and is skipped elsewhere.
 */
class AuditDiskFullTest {

    @TempDir
    Path tmp;
    Path home;
    DaemonFixture f;

    @BeforeEach
    void mountSmallHome() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root");
        Path dir = Files.createDirectories(tmp.resolve("private"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        home = Files.createDirectories(dir.resolve("home"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", home.toString()) == 0,
                "tmpfs could not be mounted here");
    }

    @AfterEach
    void unmount() throws Exception {
        try {
            if (f != null) {
                f.close();
            }
        } finally {
            if (home != null && run("umount", home.toString()) != 0) {
                // a descriptor of this JVM not yet collected (a SQLite handle) keeps it busy: detach it
                assertEquals(0, run("umount", "-l", home.toString()), "umount -l " + home);
            }
        }
    }

    private static int run(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), String.join(" ", argv));
        return p.exitValue();
    }

    private Path filler() {
        return home.resolve("filler");
    }

    /** Fills the file system to its last byte: large writes, then single bytes until ENOSPC. */
    private void fill() throws IOException {
        try (FileOutputStream out = new FileOutputStream(filler().toFile())) {
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

    private void free() throws IOException {
        Files.delete(filler());
    }

    private List<AuditEntry> entries() throws Exception {
        try (VaultSession s = Vault.open(f.vaultFile).unlock(DaemonFixture.PASSPHRASE.toCharArray())) {
            assertTrue(s.verifyAudit().isIntact(), s.verifyAudit().toString());
            return s.auditEntries(null, null);
        }
    }

    @Test
    void lockOnAFullDisk_keepsItsEntry_andWritesItAtTheNextUnlock_withWhenItHappened() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        fill();
        try (BrokerClient c = f.connect()) {
            c.call(Message.of("lock"));
        }
        assertTrue(f.daemon.isLocked(), "the lock happened: the keys are gone even though its entry could not be written");
        f.clock.advance(Duration.ofMinutes(3));
        free();
        try (BrokerClient u = f.unlockOverSocket()) {
            assertTrue(u.sealed());
        }
        f.daemon.shutdown();
        List<AuditEntry> all = entries();
        assertEquals(List.of("unlocked", "locked", "unlocked", "locked"), all.stream().map(e -> e.type().id()).toList(),
                all.toString());
        AuditEntry late = all.get(1);
        assertEquals("requested", late.string(AuditDetails.REASON));
        assertNotNull(late.string(AuditDetails.HAPPENED_AT), "a late entry says when it happened");
        assertTrue(late.time().isAfter(java.time.Instant.parse(late.string(AuditDetails.HAPPENED_AT))));
        assertNull(all.get(3).string(AuditDetails.HAPPENED_AT), "an entry written at once has no happened_at");
    }

    @Test
    void entriesPastTheWaitingLimit_areCountedByKind_inARecordsLostEntry_beforeTheOnesKept() throws Exception {
        f = new DaemonFixture(tmp);
        ArrayDeque<Runnable> background = new ArrayDeque<>();
        VaultHolder vault = new VaultHolder(f.vaultFile, f.clock, Duration.ofMinutes(30), background::add, 2);
        vault.unlock(DaemonFixture.PASSPHRASE.toCharArray());
        fill();
        vault.auditLater(entry(AuditEvent.RUN_STARTED, 1));
        drain(background);   // fails: the disk is full; the entry waits
        vault.auditLater(entry(AuditEvent.RUN_EXITED, 1));
        drain(background);
        vault.auditLater(entry(AuditEvent.RUN_EXITED, 2));   // past the limit of 2: counted, not kept
        vault.auditLater(entry(AuditEvent.RUN_EXITED, 3));
        drain(background);
        assertThrows(dev.brokerctl.vault.VaultException.class, () -> vault.audit(entry(AuditEvent.RUN_REQUESTED, 4)),
                "an entry something depends on still fails closed");
        free();
        vault.retryWaiting();
        vault.lock("test");
        List<AuditEntry> all = entries();
        assertEquals(List.of("unlocked", "records_lost", "run_started", "run_exited", "locked"),
                all.stream().map(e -> e.type().id()).toList(), all.toString());
        AuditEntry lost = all.get(1);
        assertEquals(2L, lost.number(AuditDetails.COUNT));
        assertEquals(List.of("run_exited:2"), lost.strings(AuditDetails.EVENTS));
        assertTrue(lost.string(AuditDetails.REASON).contains("2 entries were already waiting")
                && lost.string(AuditDetails.REASON).contains("is full"), lost.string(AuditDetails.REASON));
        assertEquals(1L, all.get(3).number(AuditDetails.RUN_ID), "the kept ones, in order");
    }

    private static AuditRecord entry(AuditEvent type, long run) {
        return new AuditRecord(type, "dev", AuditDetails.of(AuditDetails.RUN_ID, run));
    }

    private static void drain(ArrayDeque<Runnable> background) {
        while (!background.isEmpty()) {
            background.poll().run();
        }
    }
}

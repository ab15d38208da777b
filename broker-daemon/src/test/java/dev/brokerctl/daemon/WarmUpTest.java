package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditEntry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's warm-up of its run path at start ({@link WarmUp}): it spawns {@code true} through
 * the daemon's own launcher, writes no audit entry, needs no vault (it runs in a locked daemon),
 * and a real run sent right at start is served as always.
 */
class WarmUpTest {

    @TempDir
    Path tmp;
    DaemonFixture f;

    @AfterEach
    void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }


    private static List<AuditEntry> runEntries(List<AuditEntry> all) {
        return all.stream().filter(e -> e.type().id().startsWith("run_")).toList();
    }

    @Test
    void warmUp_spawnsTrueTwice_attachedAndDetached_andWritesNoAuditEntry() throws Exception {
        List<AuditEntry> before;
        f = new DaemonFixture(tmp);
        try (VaultSession s = Vault.open(f.vaultFile).unlock(DaemonFixture.PASSPHRASE.toCharArray())) {
            before = s.auditEntries(null, null);
        }
        f.start(Duration.ofSeconds(120), true);
        WarmUp.Result r = f.daemon.awaitWarmUp(30_000);
        assertNotNull(r, "the warm-up did not end");
        assertEquals("", r.failure());
        assertEquals(2, r.spawned(), r.toString());
        assertEquals(0, r.exitCode(), "true exits 0 under the daemon's launcher");
        assertFalse(r.interrupted());
        List<AuditEntry> after = f.entriesAfterStop();
        assertEquals(List.of(), runEntries(after), "the warm-up wrote run entries");
        // what the daemon's unlock and stop write, nothing more
        assertEquals(List.of("unlocked", "locked"), after.subList(before.size(), after.size()).stream()
                .map(e -> e.type().id()).toList());
    }

    @Test
    void warmUp_runsTheSystemsRootOwnedTrue_neverOneFoundInPath() throws Exception {
        java.nio.file.Path planted = java.nio.file.Files.createDirectories(tmp.resolve("planted"));
        java.nio.file.Path fake = planted.resolve("true");
        java.nio.file.Files.writeString(fake, "#!/bin/sh\necho planted\n");
        java.nio.file.Files.setPosixFilePermissions(fake, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        String path = planted + ":" + System.getenv("PATH");
        // the probe: resolved in that PATH, as a run's command is, `true` is the planted one
        assertEquals(fake, Executable.resolve("true", path, tmp).path());
        f = new DaemonFixture(tmp, config -> config.withEnvironment(java.util.Map.of("PATH", path)))
                .start(Duration.ofSeconds(120), true);
        WarmUp.Result r = f.daemon.awaitWarmUp(30_000);
        assertNotNull(r, "the warm-up did not end");
        assertEquals(2, r.spawned(), r.toString());
        assertEquals(WarmUp.systemTrue(), r.command());
        assertTrue(r.command().matches("/(usr/)?bin/true"), r.command());
    }

    @Test
    void warmUp_needsNoVault_itRunsWhileTheDaemonIsLocked() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), false);
        WarmUp.Result r = f.daemon.awaitWarmUp(30_000);
        assertNotNull(r, "the warm-up did not end");
        assertEquals(2, r.spawned(), r.toString());
        assertEquals(0, r.exitCode());
        assertTrue(f.daemon.isLocked(), "the warm-up must not unlock or open the vault");
        assertEquals(List.of(), runEntries(f.entriesAfterStop()));
    }

    @Test
    void aRunRightAtStart_isServedAndAudited_asAnyOther_whileTheWarmUpYields() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        DaemonProtocolTest.RunResult run = DaemonProtocolTest.run(f, "dev",
                List.of("sh", "-c", "printf '%s' \"$TOKEN\""));
        assertEquals("exit", run.last().type(), run.toString());
        assertEquals(0, run.last().number("exit_code", -1));
        assertFalse(run.stdout().isEmpty(), "the injected value came back masked");
        long id = run.last().number("run_id", -1);
        WarmUp.Result r = f.daemon.awaitWarmUp(30_000);
        assertNotNull(r, "the warm-up did not end");
        assertTrue(r.spawned() <= 2);
        List<AuditEntry> runs = runEntries(f.entriesAfterStop());
        assertEquals(List.of("run_requested", "run_decided", "run_started", "run_exited"),
                runs.stream().map(e -> e.type().id()).toList());
        runs.forEach(e -> assertEquals(Long.valueOf(id), e.number("run_id"), "an entry of another run"));
    }

    @Test
    void withWarmUpOff_nothingIsWarmedUp() throws Exception {
        f = new DaemonFixture(tmp, config -> config.withWarmUp(false)).start(Duration.ofSeconds(120), true);
        assertNull(f.daemon.awaitWarmUp(0));
    }
}

package dev.brokerctl.vault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durability, not only atomicity: {@link VaultDurabilityTest}'s SIGKILL keeps the page cache, so it
 * passes with {@code synchronous=OFF} too. Here an LD_PRELOAD recorder (built with gcc at test time;
 * the test skips without gcc) logs every fsync/fdatasync of the writer JVM in order with its acks:
 * each acknowledged write must follow a sync of the vault's write-ahead log, which is what
 * {@code synchronous=FULL} adds in WAL mode (NORMAL syncs only at checkpoints, OFF never), and what
 * a power cut after the ack needs.
 */
class VaultSyncTest {

    @TempDir
    Path tmp;

    @Test
    void everyAcknowledgedWrite_followsASyncOfTheWriteAheadLog() throws Exception {
        Path recorder = buildRecorder();
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.AUTO);
        }
        Path log = Files.createFile(tmp.resolve("sync.log"));
        int writes = 20;
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                VaultWriterMain.class.getName(), file.toString(), "dev", "K", "0", Integer.toString(writes))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("LD_PRELOAD", recorder.toString());
        pb.environment().put("BROKERCTL_TEST_SYNC_LOG", log.toString());
        Process child = pb.start();
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the writer finished");
        assertEquals(0, child.exitValue(), "the writer's exit status");

        String wal = file.getFileName() + "-wal";
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("sync ")), "the recorder saw no sync at all: " + lines);
        List<Integer> unsynced = new ArrayList<>();
        int acks = 0;
        boolean walSynced = false;
        for (String line : lines) {
            if (line.startsWith("sync ") && line.endsWith("/" + wal)) {
                walSynced = true;
            } else if (line.startsWith("ack ")) {
                acks++;
                if (!walSynced) {
                    unsynced.add(Integer.parseInt(line.substring(4)));
                }
                walSynced = false;
            }
        }
        assertEquals(writes, acks, "acks in the log");
        assertEquals(List.of(), unsynced, "writes acknowledged with no sync of " + wal + " since the one before");
    }

    private Path buildRecorder() throws Exception {
        Path source = tmp.resolve("sync_recorder.c");
        try (InputStream in = VaultSyncTest.class.getResourceAsStream("sync_recorder.c")) {
            Files.write(source, in.readAllBytes());
        }
        Path lib = tmp.resolve("libsyncrecorder.so");
        Process gcc;
        try {
            gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-O1", "-o", lib.toString(), source.toString(), "-ldl")
                    .redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            assumeTrue(false, "gcc is not installed, so the fsync recorder cannot be built: " + e.getMessage());
            throw e;
        }
        String out = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(gcc.waitFor(60, TimeUnit.SECONDS), "gcc finished");
        assertEquals(0, gcc.exitValue(), "gcc: " + out);
        return lib;
    }
}

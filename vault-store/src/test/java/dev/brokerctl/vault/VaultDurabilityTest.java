package dev.brokerctl.vault;

import static dev.brokerctl.vault.TestVaults.reveal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real child JVMs writing to a real vault file: SIGKILL mid-write, and two writers at once. */
class VaultDurabilityTest {

    @TempDir
    Path tmp;

    @Test
    void sigkilledWriter_losesNoAcknowledgedWrite_andFileStaysIntact() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.AUTO);
        }
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        int next = 0;
        List<Integer> acknowledged = new ArrayList<>();
        for (int round = 0; round < 6; round++) {
            Process child = ChildJvm.start(VaultWriterMain.class, file.toString(), "dev", "K",
                    Integer.toString(next), "100000");
            int killAfter = 5 + random.nextInt(40);
            BufferedReader out = new BufferedReader(
                    new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            int last = -1;
            for (int seen = 0; seen < killAfter; seen++) {
                String line = out.readLine();
                assertNotNull(line, "writer ended early (seed " + seed + ")");
                last = Integer.parseInt(line.substring(4));
                acknowledged.add(last);
            }
            child.destroyForcibly();   // SIGKILL, likely in the middle of the next transaction
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            // The write after the last ack we read may or may not have landed; start past it.
            next = last + 2;
        }
        try (RawDb db = new RawDb(file)) {
            assertEquals("ok", db.text("PRAGMA integrity_check"));
        }
        try (VaultSession s = TestVaults.unlock(file); ResolvedValues all = s.resolve("dev", null)) {
            assertEquals(0, s.listVariables("dev").damaged().size());
            for (int i : acknowledged) {
                assertNotNull(all.get("K_" + i), "acknowledged write K_" + i + " lost (seed " + seed + ")");
                assertEquals(VaultWriterMain.valueOf(i), reveal(all, "K_" + i));
            }
            assertTrue(all.names().size() <= acknowledged.size() + 6, "at most one unacked write per kill");
        }
    }

    @Test
    void twoProcessesWritingAtOnce_loseNothing() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.AUTO);
        }
        int each = 100;
        Process a = ChildJvm.start(VaultWriterMain.class, file.toString(), "dev", "A", "0",
                Integer.toString(each), "--wait-go");
        Process b = ChildJvm.start(VaultWriterMain.class, file.toString(), "dev", "B", "0",
                Integer.toString(each), "--wait-go");
        BufferedReader outA = new BufferedReader(new InputStreamReader(a.getInputStream(), StandardCharsets.UTF_8));
        BufferedReader outB = new BufferedReader(new InputStreamReader(b.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("ready", outA.readLine());
        assertEquals("ready", outB.readLine());
        for (Process p : new Process[] {a, b}) {
            Writer w = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
            w.write("go\n");
            w.flush();
        }
        int acksA = countAcks(outA);
        int acksB = countAcks(outB);
        assertEquals(0, a.waitFor());
        assertEquals(0, b.waitFor());
        assertEquals(each, acksA);
        assertEquals(each, acksB);
        try (VaultSession s = TestVaults.unlock(file); ResolvedValues all = s.resolve("dev", null)) {
            assertEquals(2 * each, all.names().size());
            for (int i = 0; i < each; i++) {
                assertEquals(VaultWriterMain.valueOf(i), reveal(all, "A_" + i));
                assertEquals(VaultWriterMain.valueOf(i), reveal(all, "B_" + i));
            }
        }
    }

    private static int countAcks(BufferedReader out) throws Exception {
        int n = 0;
        while (out.readLine() != null) {
            n++;
        }
        return n;
    }
}

package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RotatingLogTest {

    @TempDir
    Path dir;

    @Test
    void pastTheLimit_atALinesEnd_theLogRotates_keepingThreeOldFiles_all0600() throws IOException {
        Path log = dir.resolve("brokerd.log");
        try (PrintStream out = new PrintStream(new RotatingLog(log, 100), true, StandardCharsets.UTF_8)) {
            for (int i = 0; i < 50; i++) {
                out.println(String.format("line %02d %s", i, "x".repeat(40)));   // 49 bytes a line
            }
        }
        // 50 lines, 3 a file (the third line takes a file past 100 bytes): 17 files made, 4 kept
        assertEquals("line 48", Files.readAllLines(log).get(0).substring(0, 7));
        assertEquals(2, Files.readAllLines(log).size());
        assertEquals("line 45", Files.readAllLines(dir.resolve("brokerd.log.1")).get(0).substring(0, 7));
        assertEquals("line 39", Files.readAllLines(dir.resolve("brokerd.log.3")).get(0).substring(0, 7));
        assertFalse(Files.exists(dir.resolve("brokerd.log.4")));
        for (String name : new String[] {"brokerd.log", "brokerd.log.1", "brokerd.log.2", "brokerd.log.3"}) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(name))), name);
        }
    }

    @Test
    void aLineIsNeverSplitAcrossFiles_andAnExistingLogIsAppendedTo() throws IOException {
        Path log = dir.resolve("brokerd.log");
        Files.writeString(log, "old line\n");
        try (RotatingLog out = new RotatingLog(log, 12)) {
            out.write("half ".getBytes(StandardCharsets.UTF_8));   // past the limit, but mid-line
            out.write("done\n".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals("old line\nhalf done\n", Files.readString(dir.resolve("brokerd.log.1")));
        assertTrue(Files.exists(log));
        assertEquals(0, Files.size(log));
    }

    @Test
    void aRotationThatFails_leavesTheLogWriting_saysWhy_andIsTriedAgainLater() throws IOException {
        Path log = dir.resolve("brokerd.log");
        Path blocker = Files.createDirectories(dir.resolve("brokerd.log.3"));   // a non-empty directory: no delete
        Files.writeString(blocker.resolve("in-the-way"), "x");
        try (PrintStream out = new PrintStream(new RotatingLog(log, 100), true, StandardCharsets.UTF_8)) {
            for (int i = 0; i < 6; i++) {
                out.println(String.format("line %02d %s", i, "x".repeat(40)));
            }
            java.util.List<String> lines = Files.readAllLines(log);
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("brokerctl: cannot rotate brokerd.log")), lines.toString());
            assertEquals(java.util.List.of("line 00", "line 01", "line 02", "line 03", "line 04", "line 05"),
                    lines.stream().filter(l -> l.startsWith("line")).map(l -> l.substring(0, 7)).toList(),
                    "every line after the failure arrived");
            Files.delete(blocker.resolve("in-the-way"));
            Files.delete(blocker);
            for (int i = 6; i < 12; i++) {
                out.println(String.format("line %02d %s", i, "x".repeat(40)));
            }
        }
        assertTrue(Files.exists(dir.resolve("brokerd.log.1")), "rotated once the way was clear");
        java.util.List<String> kept = new java.util.ArrayList<>();
        for (String name : new String[] {"brokerd.log.3", "brokerd.log.2", "brokerd.log.1", "brokerd.log"}) {
            if (Files.exists(dir.resolve(name))) {
                kept.addAll(Files.readAllLines(dir.resolve(name)));
            }
        }
        assertEquals("line 11", kept.get(kept.size() - 1).substring(0, 7), kept.toString());
    }
}

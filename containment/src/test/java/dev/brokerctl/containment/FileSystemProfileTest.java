package dev.brokerctl.containment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSystemProfileTest {

    @TempDir
    Path tmp;

    @Test
    void readOnlyRules_comeAfterTheWritableProject_andTheSocketComesLast() throws Exception {
        Path home = Files.createDirectories(tmp.resolve("home"));
        Path project = Files.createDirectories(tmp.resolve("work/project"));
        Files.createDirectories(project.resolve(".git/hooks"));
        Files.writeString(project.resolve(".git/config"), "[core]\n\thooksPath = .husky\n");
        Files.createDirectories(project.resolve(".husky"));
        Files.writeString(project.resolve(".env.local"), "A=1\n");
        Files.createDirectories(project.resolve("node_modules/x"));
        Files.writeString(project.resolve("node_modules/x/.env"), "");
        Path brokerHome = Files.createDirectories(tmp.resolve("broker"));
        Path socket = Files.createFile(brokerHome.resolve("brokerd.sock"));
        FileSystemProfile p = FileSystemProfile.builder(home, 1000).brokerHome(brokerHome).socket(socket).build();

        List<String> args = p.bwrapArguments(project);
        Path real = project.toRealPath();
        int writable = args.indexOf("--bind");
        int hooks = args.indexOf(real.resolve(".git/hooks").toString());
        assertTrue(writable > 0 && hooks > writable, args.toString());
        assertEquals("--ro-bind", args.get(hooks - 1));
        assertTrue(args.contains(real.resolve(".husky").toString()), "core.hooksPath is read-only too: " + args);
        assertTrue(args.contains(real.resolve(".env.local").toString()), args.toString());
        assertTrue(!args.contains(real.resolve("node_modules/x/.env").toString()), "node_modules is not searched");
        assertEquals(List.of("--bind", socket.toString(), socket.toString(), "--chdir", real.toString()),
                args.subList(args.size() - 5, args.size()));
    }

    @Test
    void theHomeAsProject_isRefused() throws Exception {
        Path home = Files.createDirectories(tmp.resolve("home"));
        FileSystemProfile p = FileSystemProfile.builder(home, 1000).build();
        ContainmentException e = assertThrows(ContainmentException.class, () -> p.bwrapArguments(home));
        assertTrue(e.getMessage().contains("is the home or contains it"), e.getMessage());
        assertThrows(ContainmentException.class, () -> p.bwrapArguments(tmp));
    }
}

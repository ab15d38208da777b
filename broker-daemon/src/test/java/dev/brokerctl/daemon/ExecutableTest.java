package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExecutableTest {

    @TempDir
    Path tmp;

    private Path script(Path file, String content) throws Exception {
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    @Test
    void aCommandIsResolvedInTheGivenPath_inOrder() throws Exception {
        Path first = Files.createDirectories(tmp.resolve("first"));
        Path second = Files.createDirectories(tmp.resolve("second"));
        script(second.resolve("tool"), "#!/bin/sh\necho second\n");
        script(first.resolve("tool"), "#!/bin/sh\necho first\n");
        Executable e = Executable.resolve("tool", first + ":" + second, tmp);
        assertEquals(first.resolve("tool"), e.path());
        assertEquals(Path.of("/bin/sh"), e.interpreter().path());
        assertNull(e.via());
    }

    @Test
    void envShebang_resolvesTheInterpreterThroughPath_andShowsEnv() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path fakeNode = script(bin.resolve("node"), "#!/bin/sh\n");
        Path app = script(tmp.resolve("app.js"), "#!/usr/bin/env -S node --no-warnings\nconsole.log(1)\n");
        Executable e = Executable.resolve("./app.js", bin + ":/usr/bin", tmp);
        assertEquals(app, e.path());
        assertEquals(fakeNode, e.interpreter().path());
        assertEquals(Path.of("/usr/bin/env"), e.via());
    }

    @Test
    void theIdentityCoversContent_andAChangeAfterResolvingIsRefused() throws Exception {
        Path tool = script(tmp.resolve("tool.sh"), "#!/bin/sh\necho one\n");
        Executable before = Executable.resolve("./tool.sh", "", tmp);
        assertDoesNotThrow(before::checkUnchanged);
        Files.writeString(tool, "#!/bin/sh\necho two\n");
        BrokerException changed = assertThrows(BrokerException.class, before::checkUnchanged);
        assertTrue(changed.getMessage().contains("changed after it was approved; ask again"), changed.getMessage());
        assertNotEquals(before.identity(), Executable.resolve("./tool.sh", "", tmp).identity());
    }

    @Test
    void theInterpretersChange_isRefusedToo() throws Exception {
        Path interp = script(tmp.resolve("interp"), "#!/bin/sh\n");
        script(tmp.resolve("prog"), "#!" + interp + "\n");
        Executable e = Executable.resolve("./prog", "", tmp);
        Files.writeString(interp, "#!/bin/sh\necho replaced\n");
        assertThrows(BrokerException.class, e::checkUnchanged);
    }

    @Test
    void missingAndNonExecutable_get127And126Codes() throws Exception {
        assertEquals(ErrorCode.COMMAND_NOT_FOUND, assertThrows(BrokerException.class,
                () -> Executable.resolve("no-such-command-here", tmp.toString(), tmp)).code());
        Files.writeString(tmp.resolve("plain"), "x");
        assertEquals(ErrorCode.COMMAND_NOT_EXECUTABLE, assertThrows(BrokerException.class,
                () -> Executable.resolve("plain", tmp.toString(), tmp)).code());
        assertEquals(ErrorCode.COMMAND_NOT_EXECUTABLE, assertThrows(BrokerException.class,
                () -> Executable.resolve("./", "", tmp)).code());
    }

    @Test
    void aFileInAWritableDirectory_isCodeTheRequesterCanEdit() throws Exception {
        script(tmp.resolve("mine"), "#!/bin/sh\n");
        assertTrue(Executable.resolve("./mine", "", tmp).requesterCanEdit());
    }
}

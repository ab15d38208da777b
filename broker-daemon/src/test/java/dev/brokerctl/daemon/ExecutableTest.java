package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
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
    void envLines_areReadAsTheKernelAndEnvReadThem_andWhatEnvWouldInterpretOtherwiseIsRefused() throws Exception {
        Path env = Path.of("/usr/bin/env");
        assertEquals(1, Executable.envProgram(env, List.of("/usr/bin/env", "node"), "x"));
        assertEquals(2, Executable.envProgram(env, List.of("/usr/bin/env", "-S", "node", "--no-warnings"), "x"));
        assertEquals(-1, Executable.envProgram(Path.of("/bin/sh"), List.of("/bin/sh", "-e"), "x"));
        assertEquals(-1, Executable.envProgram(env, List.of("/usr/bin/env"), "x"));
        // -u takes the next word as its argument: `python3` is not what env runs
        assertRefused("env's option -u is not one the broker reads", "-S", "-u", "python3", "/x/py");
        // without -S the kernel hands env the rest of the line as one word
        assertRefused("env takes 'python3 -u' as one program name", "python3", "-u");
        assertRefused("env takes '-i' as one option", "-i");
        assertRefused("env takes 'A=1' as one assignment", "A=1");
        assertRefused("env -S would expand or unquote '${X}'", "-S", "${X}");
        assertRefused("env -S would expand or unquote 'py\\thon'", "-S", "py\\thon");
        assertRefused("env -S would expand or unquote '\"python3\"'", "-S", "\"python3\"");
        assertRefused("env -S would expand or unquote '#x'", "-S", "sh", "#x");
        assertRefused("it names no program", "-S");
        // an assignment reaches env's own PATH lookup, or the interpreter's start-up (BASH_ENV), unseen
        String where = " for the program (set it in the request's environment, where it is shown and checked)";
        assertRefused("env -S would set PATH" + where, "-S", "PATH=/tmp/evil", "sh");
        assertRefused("env -S would set BASH_ENV" + where, "-S", "BASH_ENV=/tmp/evil", "bash");
    }

    @Test
    void aShebangLineTheKernelMayReadOtherwise_isRefused_beforeTheHumanIsAsked() throws Exception {
        // \v before the interpreter: trim() took it away, the kernel opens "\v/usr/bin/sh" in the cwd
        assertLineRefused("#!\u000b/usr/bin/sh\n", "0x0b");
        // \f inside an -S word: env splits there, a checker reading spaces and tabs does not
        assertLineRefused("#!/usr/bin/env -S X=1\f/tmp/evil sh\n", "0x0c");
        // the kernel cuts the argument at a NUL
        assertLineRefused("#!/usr/bin/env -S /tmp/evil\u0000=x sh\n", "0x00");
        assertLineRefused("#!/usr/bin/env sh\r\n", "0x0d, which the kernel and env read differently from a checker;"
                + " save the script with Unix line ends");
        assertLineRefused("#!/usr/bin/env sh\u007f\n", "0x7f");
        assertLineRefused("#!/usr/bin/p\u00fcthon\n", "0xc3");
        String longLine = "#!/bin/sh " + "-e ".repeat(90);
        assertLineRefused(longLine, "is longer than the 255 bytes the kernel reads");
        // what stays readable: a tab, a line with no newline at the end of a short file
        script(tmp.resolve("tab"), "#!/bin/sh\t-e\necho\n");
        assertEquals(Path.of("/bin/sh"), Executable.resolve("./tab", "", tmp).interpreter().path());
        script(tmp.resolve("short"), "#!/bin/sh");
        assertEquals(Path.of("/bin/sh"), Executable.resolve("./short", "", tmp).interpreter().path());
        Path exact = script(tmp.resolve("exact"), "#!/bin/sh " + "e".repeat(245) + "\necho\n");
        assertEquals(255, Files.readString(exact).indexOf('\n'), "the newline is the kernel's last byte");
        assertEquals(Path.of("/bin/sh"), Executable.resolve("./exact", "", tmp).interpreter().path());
    }

    private void assertLineRefused(String content, String why) throws Exception {
        Path file = tmp.resolve("line");
        Files.deleteIfExists(file);
        Files.write(file, content.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        BrokerException e = assertThrows(BrokerException.class, () -> Executable.resolve("./line", "/usr/bin:/bin", tmp));
        assertEquals(ErrorCode.COMMAND_NOT_EXECUTABLE, e.code());
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    @Test
    void anEnvProgramWithASlash_isAbsolute_orRefused() throws Exception {
        script(tmp.resolve("rel"), "#!/usr/bin/env usr/bin/sh\n");
        BrokerException e = assertThrows(BrokerException.class, () -> Executable.resolve("./rel", "/usr/bin", tmp));
        assertTrue(e.getMessage().contains("env would run usr/bin/sh from the run's working directory"), e.getMessage());
        script(tmp.resolve("abs"), "#!/usr/bin/env /bin/sh\n");
        assertEquals(Path.of("/bin/sh"), Executable.resolve("./abs", "", tmp).interpreter().path());
    }

    @Test
    void anInterpreterThatIsAScript_isFollowed_hashed_andAChangeToItIsRefused() throws Exception {
        Path second = script(tmp.resolve("i2"), "#!/bin/sh\necho second\n");
        Path first = script(tmp.resolve("i1"), "#!" + second + "\n");
        script(tmp.resolve("run"), "#!" + first + " -x " + tmp.resolve("mod") + "\n");
        Executable e = Executable.resolve("./run", "", tmp);
        assertEquals(first, e.interpreter().path());
        assertEquals(second, e.interpreter().interpreter().path());
        assertEquals(Path.of("/bin/sh"), e.interpreter().interpreter().interpreter().path());
        @SuppressWarnings("unchecked")
        Map<String, Object> inner = (Map<String, Object>) ((Map<String, Object>) e.identity().get("interpreter")).get("interpreter");
        assertEquals(second.toString(), inner.get("path"), "the second interpreter is in what the approval binds");
        assertEquals(List.of("-x", tmp.resolve("mod").toString()), e.interpreterOperands());
        Files.writeString(second, "#!/bin/sh\necho swapped, the same length\n");
        assertThrows(BrokerException.class, e::checkUnchanged, "a swap two levels down is refused");
        // deeper than the kernel is followed: refused
        Path deeper = second;
        for (int i = 0; i < Executable.NESTING; i++) {
            deeper = script(tmp.resolve("n" + i), "#!" + deeper + "\n");
        }
        BrokerException deep = assertThrows(BrokerException.class, () -> Executable.resolve("./n" + (Executable.NESTING - 1), "", tmp));
        assertTrue(deep.getMessage().contains("nest deeper than " + Executable.NESTING), deep.getMessage());
    }

    @Test
    void envIsKnownByItsFile_notByItsName_andItIsBoundLikeEveryFileThatRuns() throws Exception {
        Path sys = Path.of("/usr/bin/env");
        // a script the requester calls env: an interpreter like any other, hashed, its words named
        Path fake = script(Files.createDirectories(tmp.resolve("v")).resolve("env"), "#!/bin/sh\necho not env\n");
        script(tmp.resolve("run"), "#!" + fake + " sh\n");
        Executable e = Executable.resolve("./run", "/usr/bin:/bin", tmp);
        assertNull(e.via());
        assertEquals(fake, e.interpreter().path());
        assertEquals(List.of("sh"), e.interpreterOperands());
        // env through a link, or a copy of it: read as env, so what env would change is refused
        Path link = Files.createSymbolicLink(tmp.resolve("e"), sys);
        Path copy = Files.copy(sys, tmp.resolve("envcopy"));
        for (Path env : List.of(link, copy)) {
            script(tmp.resolve("sets"), "#!" + env + " -S PATH=/tmp/evil sh\n");
            BrokerException refused = assertThrows(BrokerException.class, () -> Executable.resolve("./sets", "/usr/bin", tmp));
            assertTrue(refused.getMessage().contains("env -S would set PATH"), refused.getMessage());
            Files.delete(tmp.resolve("sets"));
        }
        // env running env (or busybox) would read the rest of the line unchecked
        for (String line : List.of("#!/usr/bin/env -S env -S BASH_ENV=/tmp/x bash\n", "#!/usr/bin/env -S /usr/bin/env BASH_ENV=/tmp/x bash\n")) {
            script(tmp.resolve("twice"), line);
            BrokerException refused = assertThrows(BrokerException.class, () -> Executable.resolve("./twice", "/usr/bin:/bin", tmp));
            assertTrue(refused.getMessage().contains("which runs what the rest of the line names unchecked"), refused.getMessage());
            Files.delete(tmp.resolve("twice"));
        }
        // env itself is bound: a link to it repointed after the request is refused
        script(tmp.resolve("vialink"), "#!" + link + " sh\n");
        Executable bound = Executable.resolve("./vialink", "/usr/bin:/bin", tmp);
        assertEquals(link, bound.via());
        assertTrue(bound.identity().get("via") instanceof Map<?, ?> via && via.containsKey("sha256"), bound.identity().toString());
        assertDoesNotThrow(bound::checkUnchanged);
        Files.delete(link);
        Files.createSymbolicLink(link, fake);
        assertThrows(BrokerException.class, bound::checkUnchanged, "env's link now leads to the fake");
    }

    @Test
    void emptyPath_searchesTheCwd_andNoPath_isGlibcsDefault_asExecvpDoes() throws Exception {
        Path tool = script(tmp.resolve("tool"), "#!/bin/sh\n");
        assertEquals(tool, Executable.lookup("tool", "", tmp));
        BrokerException e = assertThrows(BrokerException.class, () -> Executable.lookup("sh", "", tmp));
        assertEquals(ErrorCode.COMMAND_NOT_FOUND, e.code());
        assertEquals(Path.of("/bin/sh"), Executable.lookup("sh", null, tmp));
        assertThrows(BrokerException.class, () -> Executable.lookup("tool", null, tmp));
    }

    @Test
    void anElfFilesLoader_isBound_andAChangeToItIsRefused() throws Exception {
        Executable t = Executable.resolve("true", "/usr/bin:/bin", tmp);
        assertNotNull(t.loader(), "a dynamic /usr/bin/true names its loader");
        assertTrue(t.loader().path().isAbsolute());
        assertTrue(t.identity().containsKey("loader"), t.identity().toString());
        assertNull(Executable.elfInterpreter(script(tmp.resolve("s"), "#!/bin/sh\n"), "s"), "not ELF");
        // a copy of true whose PT_INTERP names a copy of the loader, at a path of the same length
        String real = t.loader().path().toString();
        byte[] elf = Files.readAllBytes(t.path().toRealPath());
        byte[] name = real.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = ContainedRunsTest.indexOf(elf, name);
        assertTrue(at > 0, "the loader's name is in the file");
        Path ownLoader = Path.of("/tmp/" + "l".repeat(real.length() - "/tmp/".length()));
        try {
            Files.copy(Path.of(real).toRealPath(), ownLoader, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            System.arraycopy(ownLoader.toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 0, elf, at, name.length);
            Path bin = tmp.resolve("mytrue");
            Files.write(bin, elf);
            Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
            Executable mine = Executable.resolve("./mytrue", "", tmp);
            assertEquals(ownLoader, mine.loader().path());
            assertEquals(0, new ProcessBuilder(bin.toString()).start().waitFor(), "the copy runs with its own loader");
            assertDoesNotThrow(mine::checkUnchanged);
            Files.write(ownLoader, new byte[] {0}, java.nio.file.StandardOpenOption.APPEND);
            assertThrows(BrokerException.class, mine::checkUnchanged, "the loader changed after the request");
        } finally {
            Files.deleteIfExists(ownLoader);
        }
    }

    @Test
    void anElfHeader_isReadAsTheKernelReadsIt_andOneItReadsOtherwise_isRefused() throws Exception {
        Path real = Path.of("/usr/bin/true").toRealPath();
        Path loader = Executable.resolve(real.toString(), "", tmp).loader().path();
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.arch").equals("amd64"), "x86-64 offsets");
        // EI_CLASS and EI_DATA flipped: the kernel ignores them, so the loader is still found
        for (int[] flip : new int[][] {{4, 1}, {5, 2}, {4, 0}}) {
            byte[] elf = Files.readAllBytes(real);
            elf[flip[0]] = (byte) flip[1];
            Path bin = tmp.resolve("flip" + flip[0] + flip[1]);
            Files.write(bin, elf);
            Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
            assertEquals(0, new ProcessBuilder(bin.toString()).start().waitFor(), "the kernel runs it: " + bin);
            assertEquals(loader, Executable.resolve("./" + bin.getFileName(), "", tmp).loader().path(), bin.toString());
        }
        // a program header table the kernel would not read: refused, not taken for a static binary
        byte[] elf = Files.readAllBytes(real);
        elf[54] = (byte) 0xff;   // e_phentsize
        elf[55] = (byte) 0xff;
        elf[56] = 0;             // e_phnum 4096
        elf[57] = 0x10;
        Path odd = tmp.resolve("odd");
        Files.write(odd, elf);
        Files.setPosixFilePermissions(odd, PosixFilePermissions.fromString("rwxr-xr-x"));
        BrokerException e = assertThrows(BrokerException.class, () -> Executable.resolve("./odd", "", tmp));
        assertTrue(e.getMessage().contains("not an ELF file this kernel loads"), e.getMessage());
        elf = Files.readAllBytes(real);
        elf[18] = 40;   // e_machine: ARM, another machine's binary
        elf[19] = 0;
        Files.write(odd, elf);
        e = assertThrows(BrokerException.class, () -> Executable.resolve("./odd", "", tmp));
        assertTrue(e.getMessage().contains("machine 40"), e.getMessage());
    }

    @Test
    void aPathThroughProc_isRefused_forItNamesTheDaemonsFileHereAndTheRunsThere() throws Exception {
        // /proc/self/cwd/true is the daemon's cwd's true to the broker, the run's cwd's true to the run
        for (String p : List.of("/proc/self/cwd/true", "/proc/self/exe", "/dev/stdin", "/dev/fd/0")) {
            BrokerException e = assertThrows(BrokerException.class, () -> Executable.resolve(p, "", tmp), p);
            assertTrue(e.getMessage().contains("leads through /proc"), e.getMessage());
        }
        Path link = Files.createSymbolicLink(tmp.resolve("self"), Path.of("/proc/self"));
        assertTrue(Executable.entersProc(link.resolve("exe")));
        script(tmp.resolve("viaproc"), "#!" + link + "/cwd/sh\n");
        BrokerException e = assertThrows(BrokerException.class, () -> Executable.resolve("./viaproc", "", tmp));
        assertTrue(e.getMessage().contains("leads through /proc"), e.getMessage());
        e = assertThrows(BrokerException.class, () -> Executable.lookup("sh", "/proc/self/cwd:/usr/bin", tmp));
        assertTrue(e.getMessage().contains("PATH entry /proc/self/cwd"), e.getMessage());
        // the controls: links elsewhere, and .. that leaves /proc before it is entered
        Path bin = Files.createSymbolicLink(tmp.resolve("bin"), Path.of("/usr/bin"));
        assertFalse(Executable.entersProc(bin.resolve("true")));
        assertFalse(Executable.entersProc(Path.of("/usr/bin/../bin/true")));
        assertEquals(Path.of("/usr/bin/true"), Executable.resolve(bin + "/true", "", tmp).path().toRealPath());
    }

    @Test
    void aLinkRepointedAfterTheRequest_intoProcOrAnotherPathDirectory_isRefusedBeforeTheStart() throws Exception {
        // the path is checked when asked for; a link on it repointed into /proc later still names the
        // daemon's true to the daemon (its cwd is /), and the run's to the run
        Path deep = Files.createDirectories(tmp.resolve("a/b/c/d/e/f/g/h/i/j"));
        Path link = Files.createSymbolicLink(tmp.resolve("L"), deep);
        String ups = "/..".repeat(deep.getNameCount());
        Executable e = Executable.resolve(link + ups + "/usr/bin/true", "", tmp);
        assertDoesNotThrow(e::checkUnchanged);
        Files.delete(link);
        Files.createSymbolicLink(link, Path.of("/proc/self/cwd"));
        BrokerException viaProc = assertThrows(BrokerException.class, e::checkUnchanged);
        assertTrue(viaProc.getMessage().contains("leads through /proc since it was approved"), viaProc.getMessage());

        // env's PATH lookup is the run's: a PATH entry repointed to a directory with another node
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path evil = Files.createDirectories(tmp.resolve("evil"));
        script(evil.resolve("sh"), "#!/bin/sh\necho evil\n");
        Path entry = Files.createSymbolicLink(tmp.resolve("P"), empty);
        script(tmp.resolve("tool"), "#!/usr/bin/env sh\n");
        Executable t = Executable.resolve("./tool", entry + ":/usr/bin:/bin", tmp);
        assertEquals(Path.of("/usr/bin/sh"), t.interpreter().path());
        assertDoesNotThrow(t::checkUnchanged);
        Files.delete(entry);
        Files.createSymbolicLink(entry, evil);
        BrokerException moved = assertThrows(BrokerException.class, t::checkUnchanged);
        assertTrue(moved.getMessage().contains("env would now run sh from " + entry + "/sh"), moved.getMessage());
    }

    @Test
    void aThirtyTwoBitElf_isRefused_forWhereTheKernelCannotLoadIt_sh_wouldRunIt() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.arch").equals("amd64"), "x86-64 values");
        for (int machine : new int[] {62, 3}) {   // x32, i386
            byte[] h = new byte[128];
            h[0] = 0x7f;
            h[1] = 'E';
            h[2] = 'L';
            h[3] = 'F';
            h[4] = 1;   // ELFCLASS32
            h[5] = 1;
            h[16] = 2;   // ET_EXEC
            h[18] = (byte) machine;
            h[42] = 32;   // e_phentsize of a 32-bit header
            BrokerException e = assertThrows(BrokerException.class,
                    () -> Executable.elfInterpreter(h, tmp.resolve("x32"), "x32"), "machine " + machine);
            assertTrue(e.getMessage().contains("a 32-bit binary"), e.getMessage());
        }
    }

    @Test
    void aFileWithNeitherShebangNorElf_runsWithBinSh_andIsShownSo_butAsAnInterpreterIsRefused() throws Exception {
        Path plain = tmp.resolve("plain");
        Files.writeString(plain, "echo no shebang\n");
        Files.setPosixFilePermissions(plain, PosixFilePermissions.fromString("rwxr-xr-x"));
        Executable e = Executable.resolve("./plain", "", tmp);
        assertEquals(Path.of("/bin/sh"), e.interpreter().path(), "execvp's fallback, bound");
        Process p = new ProcessBuilder(plain.toString()).redirectErrorStream(true).start();
        assertEquals("no shebang\n", new String(p.getInputStream().readAllBytes()), "the JDK runs it with sh too");
        script(tmp.resolve("uses"), "#!" + plain + "\n");
        BrokerException refused = assertThrows(BrokerException.class, () -> Executable.resolve("./uses", "", tmp));
        assertTrue(refused.getMessage().contains("is neither a #! script nor a binary this kernel loads"), refused.getMessage());
    }

    @Test
    void dotDotAfterALink_isLeftToTheKernel_soTheFileLookedAtIsTheOneThatRuns() throws Exception {
        // agent/l leads k directories down; k times .. from there is agent/, while the text's .. say /
        java.nio.file.attribute.UserPrincipal nobody = tmp.getFileSystem().getUserPrincipalLookupService()
                .lookupPrincipalByName("nobody");
        Path agent = Files.createDirectories(tmp.resolve("agent"));
        int k = agent.getNameCount() + 1;
        Path deep = agent;
        for (int i = 0; i < k; i++) {
            deep = deep.resolve("d" + i);
        }
        Files.createDirectories(deep);
        Files.createSymbolicLink(agent.resolve("l"), deep);
        Path evil = script(Files.createDirectories(agent.resolve("usr/bin")).resolve("sh"), "#!/bin/sh\necho evil\n");
        Files.setOwner(agent, nobody);
        String entry = agent.resolve("l") + "/..".repeat(k) + "/usr/bin";
        assertEquals(Path.of("/usr/bin"), Path.of(entry).normalize(), "the text says /usr/bin");
        Path found = Executable.lookup("sh", entry + ":/usr/bin", tmp);
        assertTrue(Files.isSameFile(evil, found), found + " is the agent's sh, as the kernel finds it");
        assertTrue(Executable.writable(found, p -> false, nobody), "its directory is the agent's");
        assertFalse(Executable.writable(found.normalize(), p -> false, nobody), "the control: the text's /usr/bin/sh");
        Path viaCwd = Executable.lookup("./l" + "/..".repeat(k) + "/usr/bin/sh", "", agent);
        assertTrue(Files.isSameFile(evil, viaCwd));
        assertEquals(Path.of("/a/b/c"), Executable.withoutDots(Path.of("/a/./b/./c")));
        assertEquals(Path.of("/a/b/../c"), Executable.withoutDots(Path.of("/a/./b/../c")));
    }

    private static void assertRefused(String why, String... words) {
        List<String> line = new java.util.ArrayList<>(List.of("/usr/bin/env"));
        line.addAll(List.of(words));
        BrokerException e = assertThrows(BrokerException.class,
                () -> Executable.envProgram(Path.of("/usr/bin/env"), line, "./tool"));
        assertEquals(ErrorCode.COMMAND_NOT_EXECUTABLE, e.code());
        assertTrue(e.getMessage().contains("cannot be checked: " + why + "; write it as #!/usr/bin/env PROGRAM"),
                e.getMessage());
    }

    @Test
    void whatAnInterpreterLineHandsItsInterpreter_besidesOptions_isNamed() throws Exception {
        Path other = script(tmp.resolve("other.sh"), "#!/bin/sh\n");
        script(tmp.resolve("hands"), "#!/bin/sh " + other + "\n");
        script(tmp.resolve("flags"), "#!/bin/sh -e\n");
        script(tmp.resolve("viaenv"), "#!/usr/bin/env -S sh -e " + other + "\n");
        assertEquals(List.of(other.toString()), Executable.resolve("./hands", "", tmp).interpreterOperands());
        assertEquals(List.of(), Executable.resolve("./flags", "", tmp).interpreterOperands());
        assertEquals(List.of("-e", other.toString()), Executable.resolve("./viaenv", "/usr/bin:/bin", tmp).interpreterOperands());
        // an option with its value attached runs code too: every word is named unless all are single-letter flags
        script(tmp.resolve("module"), "#!/usr/bin/python3 -mevil\n");
        assertEquals(List.of("-mevil"), Executable.resolve("./module", "", tmp).interpreterOperands());
        script(tmp.resolve("flags2"), "#!/bin/sh -e -x\n");
        assertEquals(List.of(), Executable.resolve("./flags2", "", tmp).interpreterOperands());
        assertEquals(Path.of("/usr/bin/sh"), Executable.resolve("./viaenv", "/usr/bin:/bin", tmp).interpreter().path());
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

    @Test
    void whatTheUserOwns_orADirectoryAboveIt_isChangeable_evenAt0555() throws Exception {
        // as root everything is writable: the writability is given, the owners are the files' own
        java.nio.file.attribute.UserPrincipalLookupService users = tmp.getFileSystem().getUserPrincipalLookupService();
        java.nio.file.attribute.UserPrincipal root = users.lookupPrincipalByName("root");
        java.nio.file.attribute.UserPrincipal nobody = users.lookupPrincipalByName("nobody");
        java.util.function.Predicate<Path> none = p -> false;
        Path tool = script(tmp.resolve("tool"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("r-xr-xr-x"));
        assertEquals(root, Files.getOwner(tool), "this test creates its files as root");
        assertTrue(Executable.writable(tool, none, root), "owned, 0555");
        assertFalse(Executable.writable(tool, none, nobody), "neither owned nor writable, up to /");
        assertTrue(Executable.writable(tool, p -> p.equals(tmp), nobody), "a writable directory above it");
        assertTrue(Executable.writable(tool, none, null), "an unknown user: everything counts");
        assertTrue(Executable.writable(tmp.resolve("missing/deeper"), none, root), "a missing path: its directory's");
        assertFalse(Executable.writable(tmp.resolve("missing/deeper"), none, nobody));
        // a link in a directory nobody can change, to a file of nobody's: the real path counts
        Path theirs = script(tmp.resolve("theirs"), "#!/bin/sh\n");
        Files.setOwner(theirs, nobody);
        Path links = Files.createDirectories(tmp.resolve("links"));
        Path link = Files.createSymbolicLink(links.resolve("tool"), theirs);
        assertTrue(Executable.writable(link, p -> false, nobody));
        assertFalse(Executable.writable(link, p -> false, users.lookupPrincipalByName("daemon")));
        assertFalse(Executable.writable(Path.of("/usr/bin/env"), none, nobody), "root's program");
    }

    @Test
    void aFifoAsTheProgram_isRefusedAtOnce_insteadOfBlockingOnItsContent() throws Exception {
        Path fifo = tmp.resolve("tool");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor());
        Files.setPosixFilePermissions(fifo, PosixFilePermissions.fromString("rwxr-xr-x"));
        BrokerException e = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20),
                () -> assertThrows(BrokerException.class, () -> Executable.resolve("./tool", "", tmp)));
        assertEquals(ErrorCode.COMMAND_NOT_EXECUTABLE, e.code());
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        // the probe: the same name as a regular file resolves
        Files.delete(fifo);
        script(fifo, "#!/bin/sh\n");
        assertEquals(fifo, Executable.resolve("./tool", "", tmp).path());
    }

    /** The id of {@code file} now, as the daemon records it. */
    private static Executable.FileId idNow(Path file) throws Exception {
        java.util.Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino,size,ctime");
        long ctime = ((java.nio.file.attribute.FileTime) a.get("ctime")).to(java.util.concurrent.TimeUnit.NANOSECONDS);
        return new Executable.FileId((Long) a.get("dev"), (Long) a.get("ino"), (Long) a.get("size"), ctime);
    }

    @Test
    void aHashIsCachedOnlyForAFileWhoseCtimeIsOlderThanTheRacyWindow() throws Exception {
        for (long past : new long[] {Executable.RACY_NANOS / 2, Executable.RACY_NANOS, 2 * Executable.RACY_NANOS}) {
            boolean recent = past <= Executable.RACY_NANOS;
            Path tool = script(tmp.resolve("tool-" + past + ".sh"), "#!/bin/sh\necho one\n");
            // the id as a coarse clock would leave it after a same-size rewrite in the same tick
            Executable.FileId id = idNow(tool);
            long start = id.ctimeNanos() + past;
            String one = Executable.hash(tool, id, "tool", start);
            Files.writeString(tool, "#!/bin/sh\necho two\n");
            String again = Executable.hash(tool, id, "tool", start);
            if (recent) {
                assertNotEquals(one, again, "a recent file's content is read again, not taken from the cache");
            } else {
                assertEquals(one, again, "an old file's hash comes from the cache (what makes the window matter)");
            }
        }
    }

    @Test
    void resolving_cachesTheHashOfAFileOlderThanTheWindow_withTheWallClock() throws Exception {
        // a system file no other test resolves (the cache is static): its ctime is old
        Path sh = Path.of("/usr/bin/yes");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(sh), "no /usr/bin/yes");
        Executable.FileId id = idNow(sh);
        org.junit.jupiter.api.Assumptions.assumeTrue(
                java.time.Instant.now().toEpochMilli() * 1_000_000L - id.ctimeNanos() > 10 * Executable.RACY_NANOS,
                "/usr/bin/yes changed in the last 20 s");
        Executable.hash(sh, id, "yes", Executable.wallNanos());
        // the cache answers for that id, whatever file is named with it: the wall clock let it in
        Path other = script(tmp.resolve("other.sh"), "#!/bin/sh\n");
        assertEquals(Executable.hash(sh, id, "sh", 0), Executable.hash(other, id, "other", 0));
        assertNotEquals(Executable.hash(other, idNow(other), "other", 0), Executable.hash(sh, id, "sh", 0));
    }

    @Test
    void aRecentFileWithTheSameId_isReadAgainBeforeItRuns_andAChangedContentIsRefused() throws Exception {
        Path tool = script(tmp.resolve("recent.sh"), "#!/bin/sh\necho one\n");
        Executable.FileId id = idNow(tool);
        String one = Executable.hash(tool, id, "tool", id.ctimeNanos());   // recent: not cached
        assertTrue(Executable.unchanged(tool, id, id, one, false));
        Files.writeString(tool, "#!/bin/sh\necho two\n");   // same size; a coarse ctime would keep the id
        assertFalse(Executable.unchanged(tool, id, id, one, false), "the content was read again");
        assertFalse(Executable.unchanged(tool, id, idNow(tool), one, false), "a moved id is a change");
    }

    @Test
    void aFileTheRequesterCanWrite_isReadAgain_evenWithItsIdAndACachedHash() throws Exception {
        Path tool = script(tmp.resolve("cached.sh"), "#!/bin/sh\necho one\n");
        Executable.FileId id = idNow(tool);
        String one = Executable.hash(tool, id, "tool", Long.MAX_VALUE);   // cached: its ctime counts as old
        Files.writeString(tool, "#!/bin/sh\necho two\n");
        assertTrue(Executable.unchanged(tool, id, id, one, false), "the cache answers for a file nobody but root can write");
        assertFalse(Executable.unchanged(tool, id, id, one, true), "a file of the requester's is read again");
    }

    @Test
    void aStoreThroughASharedMappingIntoADirtyPage_movesNoCtime_andIsStillRefused() throws Exception {
        Path tool = script(tmp.resolve("mapped.sh"), "echo one\n" + "#".repeat(5000));
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tool,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.MappedByteBuffer map = ch.map(java.nio.channels.FileChannel.MapMode.READ_WRITE, 0, 4096);
            map.put(15, (byte) 'o');   // the same byte: the write fault that moves ctime happens now
            Executable e = Executable.resolve("./mapped.sh", "", tmp);
            Executable.FileId before = idNow(tool);
            map.put(15, (byte) 'O');   // into the page already dirty: no fault
            org.junit.jupiter.api.Assumptions.assumeTrue(before.equals(idNow(tool)),
                    "this kernel moves ctime for a store into a dirty page");
            BrokerException changed = assertThrows(BrokerException.class, e::checkUnchanged);
            assertTrue(changed.getMessage().contains("changed after it was approved"), changed.getMessage());
        }
    }
}

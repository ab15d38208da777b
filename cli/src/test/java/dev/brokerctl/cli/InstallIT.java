package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/install.sh} into a temporary prefix, then what it installed is used as a person would:
 * the launcher on PATH runs, the bash completion completes (zsh and fish too where those shells
 * are installed: CI has neither, so there only bash is exercised), the man page renders with
 * {@code man -l} (and groff finds nothing to warn about), a root-run install cannot be replaced by
 * another user who can still run it, and {@code --uninstall} removes exactly what was installed.
 */
class InstallIT {

    @TempDir
    Path tmp;

    private static final Path SOURCE = Path.of(System.getProperty("brokerctl.launcher", "../bin/brokerctl"))
            .toAbsolutePath().normalize().getParent().getParent();

    @Test
    void installIntoAPrefix_everyInstalledFileWorks_andUninstallRemovesThem() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path prefix = tmp.resolve("prefix");
        Files.createDirectories(prefix.resolve("bin"));
        Path someoneElses = Files.writeString(prefix.resolve("bin/other-tool"), "#!/bin/sh\n");

        Result install = run(List.of("sh", SOURCE.resolve("bin/install.sh").toString(), "--prefix", prefix.toString()));
        assertEquals(0, install.exit, install.toString());
        assertTrue(install.out.contains("installed brokerctl "), install.toString());
        assertTrue(install.out.contains(prefix.resolve("bin") + " is not on your PATH"), install.toString());

        // the launcher on PATH, through its symlink, with the jars and archives made in place
        Path launcher = prefix.resolve("bin/brokerctl");
        assertTrue(Files.isSymbolicLink(launcher), "bin/brokerctl is a link to the installed launcher");
        Path lib = prefix.resolve("lib/brokerctl/lib");
        for (String f : List.of("brokerctl.jar", "brokerctl-run.jar", "brokerctl.jsa", "brokerctl-run.jsa",
                "brokerctl-mcp.jsa")) {
            assertTrue(Files.size(lib.resolve(f)) > 0, f);
            assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(lib.resolve(f))), f);
        }
        Map<String, String> env = new java.util.HashMap<>(Map.of(
                "PATH", prefix.resolve("bin") + ":" + System.getenv("PATH"),
                "JAVA_HOME", System.getProperty("java.home"),
                "HOME", tmp.toString(),
                "BROKERCTL_HOME", tmp.resolve("home").toString()));
        Result version = run(List.of("sh", "-c", "brokerctl --version"), env);
        assertEquals(0, version.exit, version.toString());
        assertTrue(version.out.startsWith("brokerctl "), version.toString());
        Result status = run(List.of("sh", "-c", "brokerctl status"), env);
        assertEquals(1, status.exit, status.toString());
        assertTrue(status.out.contains("not running") || status.err.contains("not running"), status.toString());
        // the installed copy is what ran, not the build tree's: the build's jar moved away, it still runs
        Path built = SOURCE.resolve("cli/target/brokerctl.jar");
        new Brokerctl(tmp).init();   // a vault in tmp/home, the BROKERCTL_HOME above
        assertEquals(List.of(), jarsOpenedBy(env, built));

        // bash: the completion script loads and completes subcommands and options
        Path bash = prefix.resolve("share/bash-completion/completions/brokerctl");
        Result completion = run(List.of("bash", "-c", "source \"$1\" || exit 9\n"
                + "c() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE};"
                + " COMPREPLY=(); _complete_brokerctl 2>/dev/null; echo \"$*: ${COMPREPLY[*]}\"; }\n"
                + "c brokerctl li; c brokerctl env p; c brokerctl run --env-f; c brokerctl import --sh", "bash", bash.toString()));
        assertEquals(0, completion.exit, completion.toString());
        assertEquals("brokerctl li: list\nbrokerctl env p: policy\nbrokerctl run --env-f: --env-file\n"
                + "brokerctl import --sh: --shred\n", completion.out, completion.toString());

        Path zsh = prefix.resolve("share/zsh/site-functions/_brokerctl");
        assertTrue(Files.readString(zsh).startsWith("#compdef brokerctl\n"));
        if (onPath("zsh")) {
            Result z = run(List.of("zsh", "-f", "-c", "fpath=(" + zsh.getParent() + " $fpath); autoload -U compinit;"
                    + " compinit -u -d " + tmp.resolve("zcompdump") + "; print -r -- $_comps[brokerctl];"
                    + " autoload -U +X bashcompinit && bashcompinit && source " + bash + " && print -r -- $_comps[brokerctl]"));
            assertEquals("_brokerctl\n_bash_complete -F _complete_brokerctl -o default\n", z.out, z.toString());
        }
        Path fish = prefix.resolve("share/fish/vendor_completions.d/brokerctl.fish");
        assertTrue(Files.size(fish) > 0);
        if (onPath("fish")) {
            Result f = run(List.of("fish", "--no-config", "-c", "source " + fish + "; complete -C 'brokerctl li';"
                    + " complete -C 'brokerctl env p'; complete -C 'brokerctl run --env-f'"));
            assertEquals(0, f.exit, f.toString());
            assertTrue(f.out.startsWith("list\tList variable names"), f.toString());
            assertTrue(f.out.contains("\npolicy\t"), f.toString());
            assertTrue(f.out.contains("\n--env-file\t"), f.toString());
        }

        // the man page: valid roff that man renders, every command in it
        Path page = prefix.resolve("share/man/man1/brokerctl.1");
        if (onPath("groff")) {
            Result warnings = run(List.of("groff", "-man", "-ww", "-z", page.toString()));
            assertEquals("", warnings.out + warnings.err, "groff warns about the page");
        }
        if (onPath("man")) {
            Map<String, String> manEnv = new java.util.HashMap<>(env);
            manEnv.put("MANWIDTH", "100");
            manEnv.put("MANPAGER", "cat");
            Result man = run(List.of("man", "-l", page.toString()), manEnv);
            assertEquals(0, man.exit, man.toString());
            String text = man.out.replaceAll(".\b", "");   // overstrike bold, when man thinks it is a terminal
            assertTrue(text.startsWith("BROKERCTL(1)"), text);
            for (String section : List.of("NAME", "SYNOPSIS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT")) {
                assertTrue(text.contains("\n" + section + "\n"), section + " in:\n" + text);
            }
            for (String command : List.of("brokerctl run", "brokerctl env create", "brokerctl grants revoke",
                    "brokerctl import", "brokerctl approve")) {
                assertTrue(text.contains("   " + command + "\n"), command + " in:\n" + text);
            }
            assertTrue(text.contains("--env-file"), text);
        }

        // run as root, the install belongs to root: another user runs it but cannot replace it
        if ("0".equals(run(List.of("id", "-u")).out.strip())) {
            Unprivileged user = Unprivileged.user();
            Result runs = run(user.command(launcher.toString(), "--version"), env);
            assertEquals(0, runs.exit, "the other user runs the install: " + runs);
            Result replace = run(user.command("sh", "-c", "echo x > " + lib.resolve("brokerctl.jar")));
            assertNotEquals(0, replace.exit, "the other user replaced the jar: " + replace);
            Result relink = run(user.command("ln", "-sfn", "/bin/true", launcher.toString()));
            assertNotEquals(0, relink.exit, "the other user replaced the launcher: " + relink);
        }

        // uninstall: everything it put there is gone, the rest of the prefix stays
        Result uninstall = run(List.of("sh", SOURCE.resolve("bin/install.sh").toString(), "--prefix", prefix.toString(),
                "--uninstall"));
        assertEquals(0, uninstall.exit, uninstall.toString());
        for (Path p : List.of(launcher, prefix.resolve("lib/brokerctl"), bash, zsh, fish, page)) {
            assertFalse(Files.exists(p, LinkOption.NOFOLLOW_LINKS), p + " is left after --uninstall");
        }
        assertTrue(Files.exists(someoneElses), "another tool's file in the prefix stays");
        Result again = run(List.of("sh", SOURCE.resolve("bin/install.sh").toString(), "--prefix", prefix.toString(),
                "--uninstall"));
        assertEquals(1, again.exit, again.toString());
        assertTrue(again.err.contains("no brokerctl install in " + prefix), again.toString());
    }

    @Test
    void badOptions_areUsageErrors_thatSayWhatToDo() throws Exception {
        Result unknown = run(List.of("sh", SOURCE.resolve("bin/install.sh").toString(), "--prefx", "/x"));
        assertEquals(2, unknown.exit, unknown.toString());
        assertEquals("install.sh: unknown option '--prefx'; see: bin/install.sh --help\n", unknown.err);
        Result missing = run(List.of("sh", SOURCE.resolve("bin/install.sh").toString(), "--prefix"));
        assertEquals(2, missing.exit, missing.toString());
        assertTrue(missing.err.contains("--prefix needs a directory"), missing.toString());
        Result help = run(List.of("sh", SOURCE.resolve("bin/install.sh").toString(), "--help"));
        assertEquals(0, help.exit, help.toString());
        assertTrue(help.out.startsWith("usage: bin/install.sh [--prefix DIR] [--uninstall]"), help.toString());
    }

    /**
     * Starts the installed {@code brokerctl daemon --locked} long enough to read which brokerctl
     * jars its JVM holds open ({@code /proc/PID/fd}): any under the build tree is returned.
     */
    private List<String> jarsOpenedBy(Map<String, String> env, Path built) throws Exception {
        Result maps = run(List.of("sh", "-c", "brokerctl daemon --locked --detach >/dev/null || exit 9;"
                + " pid=$(brokerctl status --json | sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/');"
                + " for f in /proc/$pid/fd/*; do readlink \"$f\"; done | grep '\\.jar$' | sort -u;"
                + " brokerctl stop >/dev/null"), env);
        assertEquals(0, maps.exit, maps.toString());
        assertTrue(maps.out.contains("/lib/brokerctl/lib/brokerctl.jar"), "the daemon runs the installed jar: " + maps);
        List<String> fromBuild = new ArrayList<>();
        for (String line : maps.out.split("\n")) {
            if (line.startsWith(built.getParent().toString())) {
                fromBuild.add(line);
            }
        }
        return fromBuild;
    }

    private static boolean onPath(String program) {
        for (String dir : System.getenv("PATH").split(":")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    private record Result(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    private Result run(List<String> command) throws IOException, InterruptedException {
        Map<String, String> env = new java.util.HashMap<>(Map.of("PATH", System.getenv("PATH"),
                "JAVA_HOME", System.getProperty("java.home"), "HOME", tmp.toString()));
        return run(command, env);
    }

    private Result run(List<String> command, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(tmp.toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not end within 5 minutes");
        }
        Result r = new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
        Files.delete(out);
        Files.delete(err);
        return r;
    }
}

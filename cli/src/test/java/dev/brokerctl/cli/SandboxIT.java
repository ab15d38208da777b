package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code brokerctl sandbox} under real bubblewrap, as an unprivileged user: every probe a same-user
 * agent would try succeeds outside (run by the same user, with the same environment, in the same
 * project) and fails inside {@code brokerctl sandbox -- sh -c PROBE}, so the sandbox is what makes
 * the difference. Nothing here skips: without bwrap the sandbox fails, and so does the test.
 *
 * <p>The test's files live under {@code target/}, not {@code /tmp}: the sandbox's private /tmp
 * would hide anything under /tmp, and the probes must show the profile's own rules (the broker
 * home, the credential store, the tmux sockets are hidden because they are named, not because
 * they are in /tmp).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SandboxIT {

    static final String VARIABLE = "SERVICE_URL_CANARY";
    static final String VALUE = "sandbox-canary-5e1d7a42";

    Unprivileged user;
    Path dir;
    Path userHome;
    Path project;
    Path install;
    Brokerctl b;
    Tmux console;
    Path tmuxSocket;
    Process listener;
    String abstractName;
    long daemonPid;
    long consolePid;
    boolean daemonRunning;

    @BeforeAll
    void setUp() throws Exception {
        user = Unprivileged.user();
        Path target = Path.of(System.getProperty("brokerctl.jar", "target/brokerctl.jar")).toAbsolutePath().getParent();
        // not under /tmp, which the sandbox replaces: a checkout there (CI may clone anywhere) would
        // hide the test's own files for that reason instead of the profile's rules
        Path base = target.startsWith("/tmp") ? Path.of("/var/tmp") : target;
        dir = Files.createTempDirectory(base, "sandbox-it-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        userHome = Files.createDirectories(dir.resolve("userhome"));
        project = Files.createDirectories(dir.resolve("project"));
        git("init", "-q", project.toString());
        Files.writeString(project.resolve(".env"), "LOCAL_ONLY=1\n");
        Files.writeString(project.resolve("tiocsti.py"), String.join("\n",
                "import fcntl, sys, termios",
                "for c in ('echo ' + sys.argv[1] + '$((6*7))\\n').encode():",
                "    fcntl.ioctl(0, termios.TIOCSTI, bytes([c]))", ""));
        Files.writeString(project.resolve("inject-then-read.sh"),
                "/usr/bin/python3 tiocsti.py IN; read line; echo \"pty-got:$line\"\n");
        Files.writeString(project.resolve("mcp.sh"), String.join("\n",
                "printf '%s\\n' '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                        + "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"sandbox-it\",\"version\":\"1\"}}}' \\",
                "  '{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}' \\",
                "  '{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}' | brokerctl mcp", ""));
        // run_command over MCP from inside; stdin stays open until the answer is out (brokerctl
        // mcp drops the answer to a call still running when its stdin ends: a known MCP-side bug)
        Files.writeString(project.resolve("mcp-run.sh"), String.join("\n",
                "rm -f mcp.in mcp.out; mkfifo mcp.in",
                "brokerctl mcp < mcp.in > mcp.out & exec 3> mcp.in",
                "printf '%s\\n' '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                        + "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"sandbox-it\",\"version\":\"1\"}}}' \\",
                "  '{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}' \\",
                "  '{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"run_command\",\"arguments\":"
                        + "{\"environment\":\"dev\",\"command\":[\"sh\",\"-c\",\"echo v=$" + VARIABLE + "\"],"
                        + "\"variables\":[\"" + VARIABLE + "\"],\"reason\":\"SandboxIT\",\"wait_seconds\":30}}}' >&3",
                "until grep -q '\"id\":3' mcp.out; do sleep 0.05; done",
                "exec 3>&-; wait; cat mcp.out; rm -f mcp.in mcp.out", ""));
        // a brokerctl install the test user owns, inside the (writable) project: only the
        // profile's read-only rule for the install can keep the sandbox from replacing it
        install = project.resolve("tools/brokerctl");
        Files.createDirectories(install.resolve("bin"));
        Files.createDirectories(install.resolve("lib"));
        Path builtJar = target.resolve("brokerctl.jar");
        Files.copy(Path.of(System.getProperty("brokerctl.launcher", "../bin/brokerctl")), install.resolve("bin/brokerctl"));
        Files.copy(builtJar, install.resolve("lib/brokerctl.jar"));
        Files.copy(target.resolve("brokerctl-run.jar"), install.resolve("lib/brokerctl-run.jar"));
        Files.createDirectories(userHome.resolve(".aws"));
        Files.writeString(userHome.resolve(".aws/credentials"), "[default]\naws_access_key_id = AKIAEXAMPLE\n");
        Files.createDirectories(userHome.resolve(".claude"));
        Files.writeString(userHome.resolve(".claude/settings.json"), "{}\n");
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Files.createSymbolicLink(bin.resolve("claude"), Path.of("/bin/sh"));   // an "agent" that runs probes
        Path tmuxTmp = Files.createDirectories(dir.resolve("tmuxtmp").resolve("tmux-" + user.uid));
        tmuxSocket = tmuxTmp.resolve("default");
        user.own(dir);
        Files.setPosixFilePermissions(tmuxTmp, PosixFilePermissions.fromString("rwx------"));

        b = new Brokerctl(dir, install.resolve("bin/brokerctl")).as(user);
        b.env.put("HOME", userHome.toString());
        b.env.put("TMUX_TMPDIR", dir.resolve("tmuxtmp").toString());
        b.env.put("PATH", bin + ":" + install.resolve("bin") + ":/usr/local/bin:/usr/bin:/bin");
        b.env.put(VARIABLE, "outside-" + VALUE.length());
        b.init();
        ok(b.run("env", "create", "dev", "--policy", "auto"));
        ok(b.runWithInput(VALUE.getBytes(StandardCharsets.UTF_8), "set", "dev", VARIABLE));
        ok(b.run("daemon", "--detach"));
        daemonRunning = true;
        daemonPid = b.daemonPid();

        console = new Tmux(tmuxSocket, user.prefix());
        console.start(b, "approve");
        console.awaitScreen("watching for requests", Tmux.WAIT);
        consolePid = console.panePid();

        abstractName = "brokerctl-sandbox-it-" + UUID.randomUUID();
        listener = new ProcessBuilder("/usr/bin/python3", "-c", String.join("\n",
                "import socket, sys",
                "s = socket.socket(socket.AF_UNIX)",
                "s.bind('\\0' + sys.argv[1])",
                "s.listen(8)",
                "print('listening', flush=True)",
                "while True:",
                "    s.accept()[0].close()"), abstractName).redirectErrorStream(true).start();
        String first = new String(listener.getInputStream().readNBytes("listening\n".length()), StandardCharsets.UTF_8);
        assertEquals("listening\n", first, "the abstract socket listener");
    }

    @AfterAll
    void tearDown() throws Exception {
        List<Throwable> problems = new ArrayList<>();
        if (listener != null) {
            listener.destroyForcibly();
            listener.waitFor();
        }
        if (console != null) {
            attempt(problems, console::kill);
        }
        if (daemonRunning) {
            attempt(problems, () -> ok(b.run("stop")));
        }
        attempt(problems, () -> assertFalse(b.transcript.toString().contains(VALUE), "the value was printed"));
        attempt(problems, () -> {
            Brokerctl.deleteTree(dir);
        });
        if (!problems.isEmpty()) {
            Throwable first = problems.get(0);
            problems.subList(1, problems.size()).forEach(first::addSuppressed);
            if (first instanceof Exception e) {
                throw e;
            }
            throw (Error) first;
        }
    }

    // ------------------------------------------------------------------ probes, outside vs inside

    @Test
    void theDaemonAndAConsole_areNotInProc() {
        holdsOnlyOutside("test -d /proc/" + daemonPid);
        holdsOnlyOutside("test -d /proc/" + consolePid);
    }

    /** An approved command's environment, which holds the value, can be read by any same-user process outside. */
    @Test
    void anApprovedChildsEnvironment_cannotBeRead() throws Exception {
        Spawned child = b.start("run", "--env", "dev", "--", "sh", "-c", "echo started; exec sleep 300.9");
        try {
            assertEquals("started", child.nextLine(Tmux.WAIT));
            holdsOnlyOutside("grep -qas " + VALUE + " /proc/[0-9]*/environ");   // -q: 0 on a match despite unreadable ones
        } finally {
            child.close();
        }
    }

    @Test
    void theBrokerHome_cannotBeRead() {
        holdsOnlyOutside("cat " + b.home.resolve("vault.db") + " >/dev/null");
        holdsOnlyOutside("ls " + b.home + " | grep -q vault.db");
    }

    @Test
    void theInstall_cannotBeWritten_althoughItIsInTheWritableProject() {
        Path planted = install.resolve("lib/planted.jar");
        holdsOnlyOutside("touch " + planted + " && rm " + planted);
        holdsOnlyOutside("echo '#!/bin/sh' > " + install.resolve("bin/brokerctl.new") + " && rm " + install.resolve("bin/brokerctl.new"));
        // the control: the project around it is writable inside
        assertEquals(0, inside("touch " + project.resolve("written-inside") + " && rm " + project.resolve("written-inside")).exit());
    }

    @Test
    void gitHooks_andTheAgentsSettings_cannotBeWritten() throws Exception {
        holdsOnlyOutside("touch .git/hooks/x && rm .git/hooks/x");
        holdsOnlyOutside("git config core.hooksPath /tmp/evil && git config --unset core.hooksPath");
        // claude's own state is writable inside (the agent must save it); its settings are not
        Path settings = userHome.resolve(".claude/settings.json");
        String probe = "printf '{}\\n' >> " + settings;
        assertEquals(0, outside(probe).exit(), "outside, the same user writes ~/.claude/settings.json");
        Brokerctl.Result in = sandbox("--", "claude", "-c", probe);
        assertNotEquals(0, in.exit(), "inside, ~/.claude/settings.json was written: " + in);
        assertTrue(in.out().contains("Read-only file system"), in.toString());
        assertEquals(0, sandbox("--", "claude", "-c", "touch ~/.claude/state-x && rm ~/.claude/state-x").exit(),
                "claude's own state is writable inside");
        Files.writeString(settings, "{}\n");
    }

    @Test
    void anAbstractUnixSocket_isUnreachable() {
        String probe = "/usr/bin/python3 -c \"import socket; socket.socket(socket.AF_UNIX).connect('\\0" + abstractName + "')\"";
        holdsOnlyOutside(probe);
        Brokerctl.Result noNet = sandbox("--no-net", "--", "sh", "-c", probe);
        assertNotEquals(0, noNet.exit(), "--no-net: " + noNet);
    }

    @Test
    void theSocket_cannotBeRenamedOrReplaced_butServes() {
        Path socket = b.socket();
        holdsOnlyOutside("mv " + socket + " " + socket + ".moved && mv " + socket + ".moved " + socket);
        // replaced: outside, the path can be unlinked (a relay could take it) and put back
        holdsOnlyOutside("ln " + socket + " " + socket + ".keep && rm " + socket + " && mv " + socket + ".keep " + socket);
        Brokerctl.Result rm = inside("rm -f \"$BROKERCTL_SOCKET\"");
        assertNotEquals(0, rm.exit(), "inside, the socket was unlinked: " + rm);
        assertTrue(rm.out().contains("busy"), rm.toString());
        Brokerctl.Result in = inside("ls -ld \"$(dirname \"$BROKERCTL_SOCKET\")\"; ls \"$(dirname \"$BROKERCTL_SOCKET\")\"; brokerctl status");
        assertEquals(0, in.exit(), in.toString());
        assertTrue(in.out().startsWith("drwx------ "), "the socket's directory inside is 0700: " + in);
        assertTrue(in.out().contains("\nbrokerd.sock\n"), "the socket alone in its directory: " + in);
        assertTrue(in.out().contains("running (pid " + daemonPid + "), unlocked"), in.toString());
        ok(b.run("status"));
    }

    @Test
    void aTmuxServersSocket_isUnreachable() {
        holdsOnlyOutside("tmux -S " + tmuxSocket + " list-sessions");
    }

    @Test
    void credentialStores_cannotBeRead() {
        holdsOnlyOutside("cat ~/.aws/credentials");
        holdsOnlyOutside("cat " + project.resolve(".env"));
    }

    @Test
    void thePassphraseFile_andVaultNames_areNotInTheEnvironment() {
        holdsOnlyOutside("env | grep -q '^BROKERCTL_PASSPHRASE_FILE='");
        holdsOnlyOutside("env | grep -q '^" + VARIABLE + "='");
        Brokerctl.Result r = inside("true");
        assertTrue(r.err().contains("removed from the agent's environment: BROKERCTL_PASSPHRASE_FILE " + VARIABLE),
                "names the removed variables: " + r);
    }

    // ------------------------------------------------------------------ the broker from inside

    @Test
    void fromInside_mcpListsTools_andARunCompletesMasked() {
        Brokerctl.Result mcp = inside("sh mcp.sh");
        assertEquals(0, mcp.exit(), mcp.toString());
        for (String tool : List.of("run_command", "list_variables", "list_environments")) {
            assertTrue(mcp.out().contains("\"name\":\"" + tool + "\""), tool + ": " + mcp);
        }
        Brokerctl.Result runOverMcp = inside("sh mcp-run.sh");
        assertEquals(0, runOverMcp.exit(), runOverMcp.toString());
        assertTrue(runOverMcp.out().contains("v=[MASKED:" + VARIABLE + "]"), "run_command from inside: " + runOverMcp);
        assertFalse(runOverMcp.out().contains(VALUE), "the value crossed MCP");
        Brokerctl.Result run = inside("brokerctl run --env dev -- sh -c 'echo \"v=$" + VARIABLE + "\"'");
        assertEquals(0, run.exit(), run.toString());
        assertTrue(run.out().contains("v=[MASKED:" + VARIABLE + "]"), run.toString());
    }

    @Test
    void theExitCode_passesThrough() {
        assertEquals(7, inside("exit 7").exit());
        assertEquals(0, inside("exit 0").exit());
    }

    @Test
    void withoutASandboxCommand_showPrintsTheMounts_andStartsNothing() {
        Brokerctl.Result r = b.runIn(project, b.launcher.toString(), null, "sandbox", "--show", "--", "sh", "-c",
                "touch " + project.resolve("show-ran"));
        assertEquals(0, r.exit(), r.toString());
        assertFalse(Files.exists(project.resolve("show-ran")), "--show started the command");
        for (String line : List.of("hidden    " + b.home, "hidden    " + userHome.resolve(".aws"),
                "read-only " + install.resolve("lib"), "read-only " + project.resolve(".git/hooks"),
                "socket    " + b.socket(), "hidden    " + project.resolve(".env"), "--unshare-pid", "--die-with-parent")) {
            assertTrue(r.out().contains(line), line + " in:\n" + r.out());
        }
        assertTrue(r.out().contains("removed:  BROKERCTL_PASSPHRASE_FILE " + VARIABLE), r.out());
    }

    // ------------------------------------------------------------------ the terminal

    /**
     * TIOCSTI: outside, a same-user process on the pane's terminal types a command into the outer
     * shell ({@code dev.tty.legacy_tiocsti} is 1 on this kernel; at 0 the ioctl fails everywhere).
     * Inside, the same ioctl reaches only the sandbox's own pty: the sandboxed shell reads the
     * injected line back, and the outer shell never runs it.
     */
    @Test
    void tiocsti_reachesOnlyTheSandboxesOwnPty() throws Exception {
        Tmux pane = new Tmux(dir.resolve("tmuxtmp").resolve("tmux-" + user.uid).resolve("tiocsti"), user.prefix());
        try {
            pane.start(b, "sh", "-c", "cd " + project + " && exec sh");
            pane.type("/usr/bin/python3 tiocsti.py OUT");
            pane.awaitScreen("OUT42", Tmux.WAIT);   // typed into the outer shell, which ran it

            pane.type("brokerctl sandbox -- sh inject-then-read.sh; echo \"sandbox-exit-$?\"");
            pane.awaitScreen("sandbox-exit-0", Tmux.WAIT);
            pane.type("echo \"done-$((1+1))\"");   // the outer terminal is back to normal, and answers
            pane.awaitScreen("done-2", Tmux.WAIT);
            String screen = pane.screen();
            assertTrue(screen.contains("pty-got:echo IN$((6*7))"), "the injected line reached the sandbox's pty:\n" + screen);
            assertFalse(screen.contains("IN42"), "the injected line ran in the outer shell:\n" + screen);
        } finally {
            pane.kill();
        }
    }

    /** A shell in the sandbox sees the pane's size, and the new one after the window is resized. */
    @Test
    void aShellInTmux_seesTheWindowSize_andItsChanges() throws Exception {
        Tmux pane = new Tmux(dir.resolve("tmuxtmp").resolve("tmux-" + user.uid).resolve("tui"), user.prefix(), 120, 40);
        try {
            pane.start(b, "sh", "-c", "cd " + project + " && exec " + b.launcher + " sandbox -- sh");
            pane.type("stty size; echo \"tty-$(tty)\"");
            pane.awaitScreen("40 120", Tmux.WAIT);
            pane.resize(100, 30);
            // the new size reaches the pty through sandbox's SIGWINCH handler, a path of its own
            // beside the keys typed: ask again until the answer changes (bounded)
            long deadline = System.nanoTime() + Tmux.WAIT.toNanos();
            while (!pane.screen().contains("30x100")) {
                assertTrue(System.nanoTime() < deadline, "the shell never saw the new size:\n" + pane.screen());
                pane.type("stty size | tr ' ' x");
                try {
                    pane.awaitScreen("x1", java.time.Duration.ofSeconds(2));   // an answer, old or new
                } catch (AssertionError notYet) {
                    // no answer within 2 s: ask again
                }
            }
            pane.type("sleep 60");
            pane.keys("C-c");   // Ctrl-C through the raw outer terminal: SIGINT from the pty
            pane.type("echo \"after-interrupt-$((2+2))\"");
            pane.awaitScreen("after-interrupt-4", Tmux.WAIT);
        } finally {
            pane.kill();
        }
    }

    // ------------------------------------------------------------------ helpers

    /** The probe succeeds as the test user outside, and fails inside the sandbox. */
    private void holdsOnlyOutside(String probe) {
        Brokerctl.Result out = outside(probe);
        assertEquals(0, out.exit(), "outside, the same user: " + probe + "\n" + out);
        Brokerctl.Result in = inside(probe);
        assertNotEquals(0, in.exit(), "inside the sandbox: " + probe + "\n" + in);
        assertFalse(in.err().contains("SHARES THE HOST NETWORK"), "pasta was not used:\n" + in);
    }

    private Brokerctl.Result outside(String probe) {
        return b.runIn(project, "/bin/sh", null, "-c", probe);
    }

    private Brokerctl.Result inside(String probe) {
        return sandbox("--", "sh", "-c", probe);
    }

    private Brokerctl.Result sandbox(String... args) {
        List<String> all = new ArrayList<>(List.of("sandbox"));
        all.addAll(List.of(args));
        return b.runIn(project, b.launcher.toString(), new byte[0], all.toArray(String[]::new));
    }

    private static void ok(Brokerctl.Result r) {
        assertEquals(0, r.exit(), r.toString());
    }

    private static void git(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("git"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "git " + String.join(" ", args) + ": " + out);
    }

    interface Step {
        void run() throws Exception;
    }

    private static void attempt(List<Throwable> problems, Step step) {
        try {
            step.run();
        } catch (Throwable t) {
            problems.add(t);
        }
    }
}

package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A brokerctl JVM that holds the passphrase or a value is non-dumpable: another process of the same
 * user cannot open its {@code /proc/PID/environ} or {@code /proc/PID/mem}. The control is the
 * {@code brokerctl run} client, a JVM of the same user from the same launcher that holds neither
 * and stays dumpable: the same probe reads it. Everything runs as {@link Unprivileged#user()},
 * since root may read any process.
 */
class NonDumpableIT {

    static final String VALUE = "dumpable-canary-3f9a1c07";

    Unprivileged user;
    Path dir;
    Brokerctl b;
    Tmux tmux;
    Spawned run;
    boolean daemonRunning;

    @BeforeEach
    void setUp() throws IOException {
        user = Unprivileged.user();
        dir = user.newDirectory("brokerctl-dumpable-");
        b = new Brokerctl(dir).as(user);
        user.assertCanRead(Path.of(System.getProperty("brokerctl.jar", "target/brokerctl.jar")).toAbsolutePath());
        b.init();
        expectOk(b.run("env", "create", "prod"));
        tmux = new Tmux(dir.resolve("tmux.sock"), user.prefix());
    }

    @AfterEach
    void tearDown() throws Exception {
        List<Throwable> problems = new ArrayList<>();
        attempt(problems, tmux::kill);
        if (run != null) {
            attempt(problems, run::close);
        }
        if (daemonRunning) {
            attempt(problems, () -> expectOk(b.run("stop")));
        }
        attempt(problems, () -> DaemonIT.assertNoSecretIn("brokerctl's output", b.transcript.toString()
                + (Files.exists(b.home.resolve("brokerd.log")) ? Files.readString(b.home.resolve("brokerd.log")) : "")));
        attempt(problems, () -> assertTrue(!b.transcript.toString().contains(VALUE), "the value was printed"));
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

    @Test
    void set_waitingForThePassphrase_thenForTheValue_cannotBeReadByTheSameUser() throws Exception {
        b.env.remove(Terminal.PASSPHRASE_FILE);   // asked on the terminal: probed while it waits there
        tmux.start(b, "sh", "-c", b.launcher + " set prod TOKEN; echo \"exit $?\"; exec cat");
        tmux.awaitScreen("Vault passphrase:", Tmux.WAIT);
        long set = brokerctlJvm(tmux.panePid(), "brokerctl.jar");
        assertRunsAsTheTestUser(set);
        assertUnreadable(set, "set, at its passphrase prompt");

        tmux.type(Brokerctl.PASSPHRASE);
        tmux.awaitScreen("Value for TOKEN:", Tmux.WAIT);
        assertUnreadable(set, "set, holding the unlocked vault at its value prompt");

        tmux.type(VALUE);
        tmux.awaitScreen("exit 0", Tmux.WAIT);
        assertTrue(tmux.screen().contains("set TOKEN in prod (" + VALUE.length() + " bytes)"), tmux.screen());
    }

    /**
     * import reads its file before it asks for the passphrase, the foreground daemon asks before it
     * starts: both are non-dumpable already at that prompt.
     */
    @Test
    void importAndForegroundDaemon_atThePassphrasePrompt_cannotBeReadByTheSameUser() throws Exception {
        Path dotenv = dir.resolve("import.env");
        Files.writeString(dotenv, "IMPORTED=" + VALUE + "\n");
        user.own(dotenv);
        b.env.remove(Terminal.PASSPHRASE_FILE);
        List<List<String>> commands = List.of(List.of("import", "prod", dotenv.toString()), List.of("daemon"));
        for (List<String> command : commands) {
            Tmux console = new Tmux(dir.resolve("tmux-" + command.get(0) + ".sock"), user.prefix());
            try {
                console.start(b, command.toArray(String[]::new));
                console.awaitScreen("Vault passphrase:", Tmux.WAIT);
                long pid = brokerctlJvm(console.panePid(), "brokerctl.jar");
                assertRunsAsTheTestUser(pid);
                assertUnreadable(pid, command.get(0) + ", at its passphrase prompt");
                console.kill();   // SIGHUP: it ends without having read a passphrase
                ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(30, TimeUnit.SECONDS).join());
            } finally {
                console.kill();
            }
        }
    }

    @Test
    void approveConsoleAndDaemon_cannotBeRead_butTheRunClientWaitingForThem_can() throws Exception {
        expectOk(b.run("daemon", "--detach"));
        daemonRunning = true;
        long daemon = b.daemonPid();
        tmux.start(b, "approve");
        tmux.awaitScreen("watching for requests", Tmux.WAIT);
        long console = brokerctlJvm(tmux.panePid(), "brokerctl.jar");

        run = b.start("run", "--env", "prod", "--", "true");
        tmux.awaitScreen("[a]pprove once", Tmux.WAIT);   // the run client now waits for a decision
        long client = run.pid();
        assertTrue(cmdline(client).stream().anyMatch(a -> a.endsWith("/brokerctl-run.jar")),
                "the control is the run client's JVM: " + cmdline(client));
        for (long pid : new long[] {daemon, console, client}) {
            assertRunsAsTheTestUser(pid);
        }

        assertUnreadable(daemon, "the daemon");
        assertUnreadable(console, "the approval console");
        Probe control = probe(client, "environ");
        assertEquals(0, control.exit(), "the same probe reads the dumpable run client: " + control.err());
        assertEquals(1, control.bytes());

        tmux.type("d");
        tmux.awaitScreen("message to the requester", Tmux.WAIT);
        tmux.type("not now");
        assertEquals(1, run.await(Tmux.WAIT).exit(), "the denied run");
    }

    // ------------------------------------------------------------------ helpers

    record Probe(int exit, int bytes, String err) {
    }

    /** {@code head -c1 /proc/PID/FILE} as the test user: what any same-user process could try. */
    private Probe probe(long pid, String file) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(user.command("head", "-c1", "/proc/" + pid + "/" + file));
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        pb.environment().put("LC_ALL", "C");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        Arrays.fill(out, (byte) 0);
        return new Probe(p.waitFor(), out.length, err.trim());
    }

    /**
     * Both probes fail to open the file. mem is checked in ptrace's attach mode, which Yama may
     * refuse a dumpable process too, so only environ (read mode) has the control.
     */
    private void assertUnreadable(long pid, String what) throws Exception {
        for (String file : List.of("environ", "mem")) {
            Probe p = probe(pid, file);
            assertEquals(1, p.exit(), what + ": " + file + " was readable");
            assertEquals("head: cannot open '/proc/" + pid + "/" + file + "' for reading: Permission denied",
                    p.err(), what);
        }
    }

    /** Real, effective, saved and file-system uid, from /proc/PID/status (readable by anyone). */
    private void assertRunsAsTheTestUser(long pid) throws IOException {
        String uids = Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                .filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow();
        String u = Integer.toString(user.uid);
        assertEquals("Uid:\t" + u + "\t" + u + "\t" + u + "\t" + u, uids, "pid " + pid);
    }

    /** The JVM started from {@code jar} at or below {@code root} (the pane's shell, say). */
    private static long brokerctlJvm(long root, String jar) {
        return Stream.concat(Stream.of(root), ProcessHandle.of(root).orElseThrow().descendants().map(ProcessHandle::pid))
                .filter(pid -> cmdline(pid).stream().anyMatch(a -> a.endsWith("/" + jar)))
                .findFirst().orElseThrow(() -> new AssertionError("no JVM of " + jar + " under pid " + root));
    }

    /** argv from /proc/PID/cmdline, which the kernel shows any user even for a non-dumpable process. */
    private static List<String> cmdline(long pid) {
        try {
            String all = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                    StandardCharsets.UTF_8);
            return List.of(all.split("\0"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void expectOk(Brokerctl.Result r) {
        assertEquals(0, r.exit(), DaemonIT.safe(r));
    }

    private interface Step {
        void run() throws Exception;
    }

    private static void attempt(List<Throwable> problems, Step step) {
        try {
            step.run();
        } catch (Exception | AssertionError e) {
            problems.add(e);
        }
    }
}

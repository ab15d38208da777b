package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real daemon as a separate process ({@code brokerctl daemon --detach}) with the real launcher
 * and jar, in a temporary home. Every test stops its daemon and checks that the socket file and
 * every process it started are gone, and that no value reached any output or the daemon's log.
 */
class DaemonIT {

    /** 24 bytes, a multiple of 3: its base64 is one line without padding. */
    static final String CANARY = "canary-daemon-7e41c9a2b5";
    static final String PEM_LINE_1 = "line-one-canary-5d0e8f13";
    static final String PEM_LINE_2 = "line-two-canary-a6b2c7d4";
    /** A multi-line value as a PEM file has it, trailing newline included. */
    static final String PEM = "-----BEGIN TEST KEY-----\n" + PEM_LINE_1 + "\n" + PEM_LINE_2 + "\n"
            + "-----END TEST KEY-----\n";
    static final int NOBODY = 65534;
    static final Duration EXIT_WAIT = Duration.ofSeconds(30);

    /**
     * One vault built through the CLI for the whole class (a light test vault, dev with policy
     * auto holding TOKEN and the multi-line PEM set from stdin, prod with policy prompt). Each test
     * copies it into its own home: a JVM start per vault command would cost most of the time budget.
     */
    @TempDir
    static Path templateDir;
    static Path templateHome;

    @TempDir
    Path tmp;
    Brokerctl b;
    boolean daemonRunning;
    long daemonPid = -1;
    /** Tests 7: a daemon of uid 65534, a world-traversable directory for its home. */
    Brokerctl nobody;
    boolean nobodyDaemonRunning;
    long nobodyPid = -1;
    Brokerctl intruder;
    Path shared;
    final List<Spawned> spawned = new ArrayList<>();

    @BeforeAll
    static void buildTemplateVault() {
        Brokerctl t;
        try {
            t = new Brokerctl(templateDir);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        t.init();
        expectOk(t.run("env", "create", "dev", "--policy", "auto"));
        expectOk(t.run("env", "create", "prod"));
        expectOk(t.runWithInput(CANARY.getBytes(StandardCharsets.UTF_8), "set", "dev", "TOKEN"));
        expectOk(t.runWithInput(PEM.getBytes(StandardCharsets.UTF_8), "set", "dev", "PEM"));
        assertNoSecretIn("the template's transcript", t.transcript.toString());
        templateHome = t.home;
    }

    @BeforeEach
    void setUp() throws Exception {
        b = new Brokerctl(tmp);
        copyTemplate(b.home);
    }

    @AfterEach
    void stopDaemons_thenNothingIsLeftAndNoValueLeaked() throws Exception {
        List<Throwable> problems = new ArrayList<>();
        for (Spawned s : spawned) {
            attempt(problems, s::close);
        }
        if (daemonRunning) {
            attempt(problems, () -> stopDaemon(b, daemonPid, null));
        }
        if (nobodyDaemonRunning) {
            attempt(problems, () -> stopDaemon(nobody, nobodyPid, NOBODY));
        }
        attempt(problems, DaemonIT::noProcessOfThisTestLeft);
        for (Brokerctl x : Stream.of(b, nobody, intruder).filter(x -> x != null).toList()) {
            attempt(problems, () -> noProcessAnywhereWithHome(x.home));
        }
        attempt(problems, () -> {
            for (Brokerctl x : Stream.of(b, nobody, intruder).filter(x -> x != null).toList()) {
                assertNoSecretIn("the output of brokerctl (home " + x.home + ")", x.transcript.toString());
                for (String log : List.of("brokerd.log", "brokerd.stderr")) {
                    Path file = x.home.resolve(log);
                    if (Files.exists(file)) {
                        assertNoSecretIn(file.toString(), Files.readString(file, StandardCharsets.ISO_8859_1));
                    }
                }
            }
        });
        if (shared != null) {
            attempt(problems, () -> Brokerctl.deleteTree(shared));
        }
        if (!problems.isEmpty()) {
            Throwable first = problems.get(0);
            problems.subList(1, problems.size()).forEach(first::addSuppressed);
            if (first instanceof Exception e) {
                throw e;
            }
            throw (Error) first;
        }
    }

    // ------------------------------------------------------------------ 1. masking

    @Test
    void run_printsOnlyMaskedPlaceholders_forAValueItsBase64AndEachLineOfAMultiLineValue() {
        startDaemon();
        Brokerctl.Result r = b.run("run", "--env", "dev", "--", "sh", "-c",
                "echo \"$TOKEN\"; printf %s \"$TOKEN\" | base64");
        assertEquals(0, r.exit(), safe(r));
        assertTrue(r.out().equals("[MASKED:TOKEN]\n[MASKED:TOKEN]\n"), safe(r));
        assertNoSecretIn("stdout", r.out());

        // tac prints the lines in reverse order, so no line is next to its neighbour in the value;
        // sed prints the second line on its own
        Brokerctl.Result lines = b.run("run", "--env", "dev", "--", "sh", "-c",
                "printf %s \"$PEM\" | tac; printf '%s\\n' \"$PEM\" | sed -n 2p");
        assertEquals(0, lines.exit(), safe(lines));
        assertTrue(lines.out().equals("[MASKED:PEM]\n".repeat(5)), safe(lines));
        assertNoSecretIn("stdout", lines.out());
    }

    /** The value on the command's stderr only: masked there too, before it reaches the CLI's stderr. */
    @Test
    void run_masksTheValueOnStderr_rawBase64AndEachLine() {
        startDaemon();
        Brokerctl.Result r = b.run("run", "--env", "dev", "--", "sh", "-c",
                "echo \"err:$TOKEN\" >&2; printf %s \"$TOKEN\" | base64 >&2; printf '%s\\n' \"$PEM\" | sed -n 2p >&2;"
                        + " echo out");
        assertEquals(0, r.exit(), safe(r));
        assertEquals("out\n", r.out(), safe(r));
        assertEquals("err:[MASKED:TOKEN]\n[MASKED:TOKEN]\n[MASKED:PEM]\n", r.err(), safe(r));
        assertNoSecretIn("stderr", r.err());
    }

    // ------------------------------------------------------------------ 1a. the small run jar

    @Test
    void run_startsFromTheSmallJar_withoutOpeningTheFullOne_andHelpFallsBackToIt() throws Exception {
        startDaemon();
        Path log = tmp.resolve("class-load.log");
        b.env.put("BROKERCTL_JAVA_OPTS", "-Xlog:class+load=info:file=" + log);
        Brokerctl.Result r;
        try {
            r = b.run("run", "--env", "dev", "--", "true");
        } finally {
            b.env.remove("BROKERCTL_JAVA_OPTS");
        }
        assertEquals(0, r.exit(), safe(r));
        String loaded = Files.readString(log);
        assertTrue(loaded.contains("dev.brokerctl.cli.RunMain source:"), "the launcher started brokerctl-run.jar");
        List<String> fromFullJar = loaded.lines().filter(l -> l.contains("/brokerctl.jar")).toList();
        assertEquals(List.of(), fromFullJar, "classes of `run` loaded from the full jar");

        // what the small jar does not handle, the full CLI does (its classes come from brokerctl.jar)
        Brokerctl.Result help = b.run("run", "--help");
        assertEquals(0, help.exit(), safe(help));
        assertTrue(help.out().contains("Usage: brokerctl run"), safe(help));
        Brokerctl.Result usage = b.run("run", "--env", "dev", "--bogus", "--", "true");
        assertEquals(2, usage.exit(), safe(usage));
        assertTrue(usage.err().contains("--bogus"), safe(usage));
    }

    // ------------------------------------------------------------------ 1b. --only and --env-file

    @Test
    void run_injectsOnlyWhatIsAsked_andEnvFileTemplatesResolveReferences() throws Exception {
        startDaemon();
        String probe = "echo \"token=${TOKEN:-unset} pem=${PEM:+set} db=${DB_TOKEN:-unset} mode=${MODE:-unset}\"";
        Brokerctl.Result only = b.run("run", "--env", "dev", "--only", "TOKEN", "--", "sh", "-c", probe
                + "; echo \"passphrase file: ${BROKERCTL_PASSPHRASE_FILE:-hidden}\"");
        assertEquals(0, only.exit(), safe(only));
        assertEquals("token=[MASKED:TOKEN] pem= db=unset mode=unset\npassphrase file: hidden\n", only.out(),
                "the caller's environment passes through, but not where the passphrase is kept");

        Path template = tmp.resolve(".env.broker");
        Files.writeString(template, "# committed to the repository instead of a .env\n"
                + "DB_TOKEN=broker://dev/TOKEN\nMODE=test\n");
        Brokerctl.Result templated = b.run("run", "--env", "dev", "--only", "PEM", "--env-file", template.toString(),
                "--", "sh", "-c", probe);
        assertEquals(0, templated.exit(), safe(templated));
        assertEquals("token=unset pem=set db=[MASKED:DB_TOKEN] mode=test\n", templated.out());

        Files.writeString(template, "BAD=broker://dev\n");
        Brokerctl.Result bad = b.run("run", "--env", "dev", "--env-file", template.toString(), "--", "true");
        assertEquals(125, bad.exit(), safe(bad));
        assertTrue(bad.err().contains("line 1: BAD is not a valid broker reference: the variable is missing after"
                + " the environment; write BAD=broker://ENV/VARIABLE"), safe(bad));

        Brokerctl.Result missing = b.run("run", "--env", "dev", "--only", "NOPE", "--", "true");
        assertEquals(125, missing.exit(), safe(missing));
        assertTrue(missing.err().contains("variable NOPE does not exist in environment 'dev'"), safe(missing));
    }

    @Test
    void envFile_plainLinesWinOverTheVault_onlyItsReferencesAreInjected_andABadReferenceNamesItsLine() throws Exception {
        startDaemon();
        Path template = tmp.resolve(".env.broker");
        Files.writeString(template, "TOKEN=plain-literal\nDB_TOKEN=broker://dev/TOKEN\n");
        String probe = "echo \"token=${TOKEN:-unset} pem=${PEM:+set} db=${DB_TOKEN:-unset}\"";
        Brokerctl.Result r = b.run("run", "--env", "dev", "--env-file", template.toString(), "--", "sh", "-c", probe);
        assertEquals(0, r.exit(), safe(r));
        assertEquals("token=plain-literal pem= db=[MASKED:DB_TOKEN]\n", r.out(),
                "the file's plain line wins, and no variable of dev but the referenced one is injected");

        Brokerctl.Result only = b.run("run", "--env", "dev", "--only", "TOKEN,PEM", "--env-file", template.toString(),
                "--", "sh", "-c", probe);
        assertEquals(0, only.exit(), safe(only));
        assertEquals("token=plain-literal pem=set db=[MASKED:DB_TOKEN]\n", only.out());
        assertTrue(only.err().contains("TOKEN comes from " + template + " (a plain line), not from the vault"), safe(only));

        for (String bad : List.of("broker:/dev/TOKEN", "broker://dev", "broker://Dev/TOKEN")) {
            Files.writeString(template, "# a template\nNODE_ENV=test\nDB=" + bad + "\n");
            Brokerctl.Result refused = b.run("run", "--env", "dev", "--env-file", template.toString(), "--", "true");
            assertEquals(125, refused.exit(), bad + ": " + safe(refused));
            assertTrue(refused.err().startsWith("brokerctl: " + template + ": line 3: DB is not a valid broker reference: "),
                    bad + ": " + safe(refused));
        }
    }

    @Test
    void run_namesTheEnvironmentRule_andEveryMissingVariable_andGrantsListsAsJson() {
        startDaemon();
        Brokerctl.Result upper = b.run("run", "--env", "Prod", "--", "true");
        assertEquals(2, upper.exit(), safe(upper));
        assertEquals("brokerctl: the environment name 'Prod' is not valid: use 1-63 characters of a-z, 0-9, '_' and '-',"
                + " starting with a letter or digit (environments are lower case)\n", upper.err());

        Brokerctl.Result missing = b.run("run", "--env", "dev", "--only", "TOKEN,NOPE,ALSO", "--", "true");
        assertEquals(125, missing.exit(), safe(missing));
        assertTrue(missing.err().contains("variables NOPE, ALSO do not exist in environment 'dev'"), safe(missing));

        Brokerctl.Result grants = b.run("grants", "--json");
        assertEquals(0, grants.exit(), safe(grants));
        assertEquals("{\"grants\":[]}\n", grants.out());
    }

    // ------------------------------------------------------------------ 2. exit codes

    @Test
    void run_exitCodesComeThrough_statusSignalTimeoutNotFoundNotExecutable() throws Exception {
        startDaemon();
        assertEquals(0, runDev("sh", "-c", "exit 0").exit());
        assertEquals(7, runDev("sh", "-c", "exit 7").exit());

        Brokerctl.Result notFound = runDev("no-such-command-xyz");
        assertEquals(127, notFound.exit(), safe(notFound));
        assertOneLine(notFound.err(), "no-such-command-xyz");

        Path script = tmp.resolve("not-executable.sh");
        Files.writeString(script, "#!/bin/sh\necho should-not-run\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
        Brokerctl.Result notExecutable = runDev(script.toString());
        assertEquals(126, notExecutable.exit(), safe(notExecutable));
        assertOneLine(notExecutable.err(), script.toString());
        assertFalse(notExecutable.out().contains("should-not-run"));

        Brokerctl.Result signalled = runDev("sh", "-c", "kill -TERM $$");
        assertEquals(128 + 15, signalled.exit(), safe(signalled));

        Brokerctl.Result timedOut = b.run("run", "--env", "dev", "--timeout", "1s", "--", "sleep", "30");
        assertEquals(124, timedOut.exit(), safe(timedOut));
        assertTrue(timedOut.err().contains("timed out"), safe(timedOut));

        // a reader that stops early (| head -1): 141, as `yes | head -1` gives in a shell, nothing else
        // said, and the command is stopped; the control is the same pipeline without brokerctl
        String pipeline = " | head -1 >/dev/null; echo \"rc=${PIPESTATUS[0]}\"";
        Brokerctl.Result plain = b.runIn(tmp, "bash", null, "-c", "yes" + pipeline);
        assertEquals("rc=141", plain.out().strip(), safe(plain));
        Brokerctl.Result piped = b.runIn(tmp, "bash", null, "-c", "\"$0\" run --env dev -- sh -c 'yes \"$TOKEN\"'"
                + pipeline, b.launcher.toString());
        assertEquals("rc=141", piped.out().strip(), safe(piped));
        assertEquals("", piped.err(), safe(piped));
    }

    // ------------------------------------------------------------------ 3. stdin

    @Test
    void run_forwardsStdinToTheCommand_byteForByte() throws Exception {
        startDaemon();
        byte[] input = new byte[24 * 1024];
        new Random(42).nextBytes(input);
        byte[] text = "first line\nsecond line without newline".getBytes(StandardCharsets.UTF_8);
        System.arraycopy(text, 0, input, 0, text.length);
        Spawned cat = track(b.start(input, true, "run", "--env", "dev", "--", "cat"));
        Brokerctl.Result r = cat.await(EXIT_WAIT);
        assertEquals(0, r.exit(), safe(r.err()));
        byte[] got = cat.stdoutBytes();
        assertTrue(Arrays.equals(input, got), "stdout differs from stdin: " + got.length + " bytes back of "
                + input.length + ", first difference at " + Arrays.mismatch(input, got));
    }

    // ------------------------------------------------------------------ 4. a gigabyte

    /**
     * A daemon whose heap is capped at 96 MiB streams a gibibyte of output byte-exact: one that held
     * the output on its heap would fail. Its peak resident set (the budget: under 384 MiB) is a
     * benchmark, bench/daemon-rss.sh, not an assertion of this test.
     */
    @Test
    void run_streamsOneGibibyteOfOutput_throughADaemonWithA96MiBHeap() throws Exception {
        b.env.put("BROKERCTL_JAVA_OPTS", "-Xmx96m");
        startDaemon();
        b.env.remove("BROKERCTL_JAVA_OPTS");
        List<String> daemonArgs = Arrays.asList(Files.readString(Path.of("/proc", Long.toString(daemonPid), "cmdline"))
                .split("\0"));
        assertTrue(daemonArgs.contains("-Xmx96m"), "the detached daemon keeps BROKERCTL_JAVA_OPTS: " + daemonArgs);

        long size = 1L << 30;
        Spawned big = track(b.start(null, false, "run", "--env", "dev", "--", "head", "-c", Long.toString(size),
                "/dev/zero"));
        Brokerctl.Result r = big.await(Duration.ofMinutes(3));
        assertEquals(0, r.exit(), safe(r.err()));
        assertEquals(size, big.stdoutCount());

        // the daemon's peak RSS for this run is a budget, measured in bench/daemon-rss.sh, not here
    }

    // ------------------------------------------------------------------ 5. no orphans

    @Test
    void run_leavesNoOrphan_onTimeoutOnAKilledCliOrOnSigterm() throws Exception {
        startDaemon();

        // a grandchild in the command's process group dies with the command on timeout
        // (runs are in PID namespaces of their own: $$ inside is not the host's pid, so the
        // processes are found by an argument of their own)
        Brokerctl.Result timedOut = b.run("run", "--env", "dev", "--timeout", "2s", "--", "sh", "-c",
                "sleep 300.101 & echo started; wait");
        assertEquals(124, timedOut.exit(), safe(timedOut));
        awaitNoProcessWith("300.101", "the background sleep of a timed-out run");

        // the CLI killed outright: its connection closes and the daemon kills the command
        Spawned killed = track(b.start("run", "--env", "dev", "--", "sh", "-c", "echo started; exec sleep 300.102"));
        killed.nextLine(EXIT_WAIT);
        long child = hostPid("300.102");
        ProcessHandle handle = ProcessHandle.of(child).orElseThrow(() -> new AssertionError("the command is not running"));
        killed.process.destroyForcibly();
        killed.await(EXIT_WAIT);
        try {
            handle.onExit().get(20, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            fail("the daemon did not kill the command of a killed brokerctl run within 20s");
        }

        // SIGTERM on the CLI goes to the command, whose 128+15 comes back
        Spawned terminated = track(b.start("run", "--env", "dev", "--", "sh", "-c", "echo started; exec sleep 300.103"));
        terminated.nextLine(EXIT_WAIT);
        long sleeper = hostPid("300.103");
        terminated.process.destroy();
        Brokerctl.Result r = terminated.await(EXIT_WAIT);
        assertEquals(143, r.exit(), safe(r));
        awaitGone(sleeper, "the command of a brokerctl run that got SIGTERM");
    }

    // ------------------------------------------------------------------ 6b. the approval console

    /**
     * {@code brokerctl approve} in a real terminal (tmux): a denied run gets the message and exit 1
     * without starting; a wrong code and blind keystrokes never approve; the right code does.
     */
    @Test
    void approveConsole_inATerminal_deniesApproves_andNeverApprovesWithoutTheCode() throws Exception {
        expectOk(b.runWithInput(CANARY.getBytes(StandardCharsets.UTF_8), "set", "prod", "TOKEN"));
        expectOk(b.runWithInput(PEM.getBytes(StandardCharsets.UTF_8), "set", "prod", "PEM"));
        startDaemon();
        Tmux tmux = new Tmux(tmp.resolve("tmux.sock"));
        try {
            tmux.start(b, "approve");
            tmux.awaitScreen("watching for requests", EXIT_WAIT);

            Path marker = tmp.resolve("denied-ran");
            Spawned denied = track(b.start("run", "--env", "prod", "--reason", "try it", "--", "touch", marker.toString()));
            tmux.awaitScreen("reason (requester's words): try it", EXIT_WAIT);
            tmux.type("d");
            tmux.awaitScreen("message to the requester", EXIT_WAIT);
            tmux.type("not on a Friday");
            Brokerctl.Result refused = denied.await(EXIT_WAIT);
            assertEquals(1, refused.exit(), safe(refused));
            assertTrue(refused.err().contains("not on a Friday"), safe(refused));
            assertFalse(Files.exists(marker), "a denied run never starts");

            Spawned approved = track(b.start("run", "--env", "prod", "--", "sh", "-c", "echo approved-by-code"));
            tmux.awaitScreen("echo approved-by-code", EXIT_WAIT);
            String code = tmux.lastCode();
            // One line at a time, each answered by the next prompt: nothing is typed while a
            // decision is in flight, so the screen tells exactly which state the console is in.
            tmux.answer("a");
            tmux.answer("ZZZ-ZZZ");
            assertTrue(tmux.screen().contains("wrong code"), "a wrong code is refused");
            for (String blind : List.of("", "y", "yes", "a", "approve", "g", "", "s")) {
                tmux.answer(blind);
            }
            assertTrue(approved.process.isAlive(), "no keystroke without the code approved the run");
            try (BrokerClient approver = b.approver("check")) {
                assertEquals(1, approver.call(Message.of("pending_list")).messages("runs").size(), "still pending");
            }
            tmux.answer("a");
            tmux.type(code);
            Brokerctl.Result ran = approved.await(EXIT_WAIT);
            assertEquals(0, ran.exit(), safe(ran));
            assertEquals("approved-by-code\n", ran.out());

            // a request for all of prod's variables, narrowed by the human to one of them
            Spawned all = track(b.start("run", "--env", "prod", "--", "sh", "-c",
                    "echo \"narrowed: TOKEN=${TOKEN:-unset} PEM=${PEM:-unset}\""));
            tmux.awaitScreen("PEM=${PEM:-unset}", EXIT_WAIT);
            assertTrue(tmux.screen().contains("variables: all 2 of 'prod': PEM, TOKEN"), "all, by name");
            String previous = code;
            long deadline = System.nanoTime() + EXIT_WAIT.toNanos();
            while ((code = tmux.lastCode()).equals(previous) && System.nanoTime() < deadline) {
                Thread.onSpinWait();   // the new request's code is printed after its command
            }
            tmux.answer("n");
            tmux.answer("NOPE");
            assertTrue(tmux.screen().contains("not a variable of this environment: NOPE"), "an unknown name is refused");
            tmux.answer("TOKEN");
            tmux.type(code);
            Brokerctl.Result narrowed = all.await(EXIT_WAIT);
            assertEquals(0, narrowed.exit(), safe(narrowed));
            assertEquals("narrowed: TOKEN=[MASKED:TOKEN] PEM=unset\n", narrowed.out(), "only the chosen variable");
            assertTrue(narrowed.err().contains("the human narrowed the variables to TOKEN"), safe(narrowed));
            assertTrue(b.run("audit").out().lines().anyMatch(l -> l.contains("run_decided") && l.contains("variables=")
                    && l.contains("TOKEN") && !l.contains("PEM")), "the audit records the narrowing");
        } finally {
            tmux.kill();
        }
    }

    /** A console does not prompt for a request made from its own terminal. */
    @Test
    void approveConsole_refusesARequestFromItsOwnTerminal() throws Exception {
        startDaemon();
        Tmux tmux = new Tmux(tmp.resolve("tmux.sock"));
        try {
            // one terminal: the request in the background, the console in the foreground
            tmux.start(b, "sh", "-c", b.launcher + " run --env prod -- true & exec " + b.launcher + " approve");
            tmux.awaitScreen("comes from this terminal", EXIT_WAIT);
            assertFalse(tmux.screen().contains("[a]pprove once"), "no prompt for a request from this terminal");
        } finally {
            tmux.kill();
        }
    }

    // ------------------------------------------------------------------ 6. approval

    @Test
    void promptEnvironment_waitsForAnApprover_whoApprovesOrDenies_andRequestersCannotDecide() throws Exception {
        startDaemon("--approval-timeout", "2s");

        Brokerctl.Result nobodyDecided = b.run("run", "--env", "prod", "--", "sh", "-c", "echo never-ran");
        assertEquals(1, nobodyDecided.exit(), safe(nobodyDecided));
        assertTrue(nobodyDecided.err().contains("no approval within 2s"), safe(nobodyDecided));
        assertFalse(nobodyDecided.out().contains("never-ran"));

        try (BrokerClient approver = b.approver("test-approver")) {
            assertTrue(approver.sealed());

            Spawned approved = track(b.start("run", "--env", "prod", "--", "sh", "-c", "echo approved-ran"));
            Message pending = awaitPending(approver, "echo approved-ran");
            approver.call(Message.of("decide").with("run_id", pending.number("run_id", -1)).with("decision", "approve")
                    .with("request_hash", pending.string("request_hash")).with("code", pending.string("code")));
            Brokerctl.Result ran = approved.await(EXIT_WAIT);
            assertEquals(0, ran.exit(), safe(ran));
            assertEquals("approved-ran\n", ran.out());

            Spawned denied = track(b.start("run", "--env", "prod", "--", "sh", "-c", "echo denied-ran"));
            long runId = awaitPending(approver, "echo denied-ran").number("run_id", -1);
            approver.call(Message.of("decide").with("run_id", runId).with("decision", "deny")
                    .with("message", "not now"));
            Brokerctl.Result refused = denied.await(EXIT_WAIT);
            assertEquals(1, refused.exit(), safe(refused));
            assertTrue(refused.err().contains("not now"), safe(refused));
            assertFalse(refused.out().contains("denied-ran"));
        }

        try (BrokerClient requester = BrokerClient.connect(b.socket(), Map.of("name", "test-requester"))) {
            BrokerException list = assertThrows(BrokerException.class,
                    () -> requester.call(Message.of("pending_list")));
            assertEquals(ErrorCode.NOT_APPROVER, list.code(), list.getMessage());
            BrokerException decide = assertThrows(BrokerException.class,
                    () -> requester.call(Message.of("decide").with("run_id", 1).with("decision", "approve")));
            assertEquals(ErrorCode.NOT_APPROVER, decide.code(), decide.getMessage());
        }
    }

    // ------------------------------------------------------------------ 7. other users

    @Test
    void daemonOfAnotherUser_refusesAConnectionFromRoot() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to run a daemon as uid 65534");
        shared = worldTraversableDir();
        Path dir = Files.createDirectories(shared.resolve("nobody"));
        nobody = new Brokerctl(dir);
        copyTemplate(nobody.home);
        run("chown", "-R", NOBODY + ":" + NOBODY, dir.toString());
        onlyEssentials(nobody.env, nobody.home, nobody.passphraseFile);

        Brokerctl.Result started = nobody.runAs(NOBODY, "daemon", "--detach");
        assertEquals(0, started.exit(), safe(started));
        nobodyDaemonRunning = true;
        assertEquals(NOBODY, Files.getAttribute(nobody.socket(), "unix:uid", LinkOption.NOFOLLOW_LINKS));
        Brokerctl.Result status = nobody.runAs(NOBODY, "status", "--json");
        assertEquals(0, status.exit(), safe(status));
        nobodyPid = Message.parse(status.out().trim().getBytes(StandardCharsets.UTF_8)).number("pid", -1);

        // root passes the 0700 directory and the 0600 socket; SO_PEERCRED is what stops it. A raw
        // connection that sends nothing reads the daemon's refusal:
        try (SocketChannel raw = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            raw.connect(UnixDomainSocketAddress.of(nobody.socket()));
            DataInputStream in = new DataInputStream(Channels.newInputStream(raw));
            Frame f = Frame.read(in);
            assertTrue(f != null && f.kind() == Frame.JSON, "a refusal message, not " + f);
            Message m = Message.parse(f.payload());
            assertEquals("error", m.type());
            assertEquals(ErrorCode.NOT_APPROVER.wire(), m.string("code"));
            assertTrue(m.string("message").contains("connections from user root are refused"), m.string("message"));
            assertNull(Frame.read(in), "the daemon closes the connection after refusing");
        }
        assertTrue(Files.readString(nobody.home.resolve("brokerd.log")).contains("refused a connection from user root"));

        // ... and so must every BrokerClient, whose hello leaves with its first request: the reason
        // has to reach the user however that write races with the daemon's close, for a request
        // and its reply (call) as for a run (send, then receive). The race goes either way
        // (measured: 12% to 75% of the tries lost), hence many tries.
        for (int i = 0; i < 200; i++) {
            boolean call = i % 2 == 0;
            BrokerException refused = assertThrows(BrokerException.class, () -> {
                try (BrokerClient c = BrokerClient.connect(nobody.socket(), Map.of("name", "root-intruder"))) {
                    if (call) {
                        c.call(Message.of("status"));
                    } else {
                        c.send(Message.of("run").with("environment", "dev").with("argv", List.of("true")));
                        c.receive();
                    }
                }
            });
            // the client refuses first now (its socket directory is not root's); the daemon's own
            // refusal of other uids is DaemonProtocolTest's and the reverse test's
            assertTrue(refused.getMessage().contains("connections from user root are refused")
                    || refused.getMessage().contains("belongs to uid 65534, not to you (uid 0)"),
                    "try " + (i + 1) + (call ? " (call)" : " (run)") + ": " + refused.getMessage());
        }
    }

    @Test
    void anotherUser_cannotReachTheDaemon_andIsToldPermissionDenied() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to run brokerctl as uid 65534");
        shared = worldTraversableDir();
        // root's home in a directory uid 65534 may pass through: what stops it is the 0700 home
        b = new Brokerctl(Files.createDirectories(shared.resolve("root")));
        Files.setPosixFilePermissions(b.passphraseFile, PosixFilePermissions.fromString("rw-------"));
        copyTemplate(b.home);
        startDaemon();

        Path dir = Files.createDirectories(shared.resolve("intruder"));
        intruder = new Brokerctl(dir);
        run("chown", "-R", NOBODY + ":" + NOBODY, dir.toString());
        onlyEssentials(intruder.env, b.home, null);
        Brokerctl.Result status = intruder.runAs(NOBODY, "status");
        assertNotEquals(0, status.exit(), safe(status));
        String said = status.out() + status.err();
        assertTrue(said.toLowerCase(Locale.ROOT).contains("permission denied"),
                "expected a permission error, got: " + safe(said));
        assertFalse(said.contains("not running"), "a running daemon reported as not running: " + safe(said));
    }

    /**
     * The home open to other users (0711), so only the socket's own checks stand, and each of them
     * alone is shown to stop uid 65534: the directory's 0700 (as the daemon made it), then the
     * socket's 0600 with the directory opened by the test, then SO_PEERCRED with both opened. The
     * intruder is a raw client (a client of brokerctl's own refuses another user's directory before
     * it connects) with a 5 s read timeout, so a missing check fails instead of hanging. The control:
     * the same probe as the owner is served.
     */
    @Test
    void anotherUser_withTheHomeOpen_isStoppedByEachSocketCheckOnItsOwn() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to probe as uid 65534");
        shared = worldTraversableDir();
        b = new Brokerctl(Files.createDirectories(shared.resolve("owner")));
        copyTemplate(b.home);
        Files.setPosixFilePermissions(b.home, PosixFilePermissions.fromString("rwx--x--x"));
        startDaemon();
        Path dir = b.socket().getParent();
        Path script = Files.writeString(shared.resolve("probe.py"), RAW_PROBE);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));

        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS)));
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(b.socket(), LinkOption.NOFOLLOW_LINKS)));
        assertTrue(probe(NOBODY, script).startsWith("connect: PermissionError"), "the 0700 directory stops it");
        assertTrue(probe(0, script).startsWith("reply: {\"type\":\"hello\""), "the control: the owner is served");
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
            assertTrue(probe(NOBODY, script).startsWith("connect: PermissionError"), "the 0600 socket stops it");

            Files.setPosixFilePermissions(b.socket(), PosixFilePermissions.fromString("rw-rw-rw-"));
            String refused = probe(NOBODY, script);
            assertTrue(refused.startsWith("reply: {\"type\":\"error\",\"code\":\"not_approver\""), refused);
            assertTrue(refused.contains("connections from user nobody are refused"), refused);
            assertTrue(refused.endsWith("then: closed"), "the daemon closes the connection: " + refused);
            assertTrue(probe(0, script).startsWith("reply: {\"type\":\"hello\""), "the control, again");
        } finally {
            // brokerctl's own clients (stop, in the after-each) refuse an open socket directory
            Files.setPosixFilePermissions(b.socket(), PosixFilePermissions.fromString("rw-------"));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
    }

    /** Connects, sends hello and status, prints the first reply and whether the connection then closed. */
    private static final String RAW_PROBE = String.join("\n",
            "import json, socket, struct, sys",
            "def frame(s):",
            "    head = b''",
            "    while len(head) < 5:",
            "        c = s.recv(5 - len(head))",
            "        if not c:",
            "            return None",
            "        head += c",
            "    n = struct.unpack('>I', head[:4])[0] - 1",
            "    body = b''",
            "    while len(body) < n:",
            "        c = s.recv(n - len(body))",
            "        if not c:",
            "            return None",
            "        body += c",
            "    return body",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
            "s.settimeout(5)",
            "try:",
            "    s.connect(sys.argv[1])",
            "except OSError as e:",
            "    print('connect: %s %s' % (type(e).__name__, e))",
            "    sys.exit(0)",
            "for m in ({'type': 'hello', 'protocol': " + BrokerClient.PROTOCOL_VERSION + ", 'client': {'name': 'probe'}},",
            "          {'type': 'status'}):",
            "    b = json.dumps(m, separators=(',', ':')).encode()",
            "    try:",
            "        s.sendall(struct.pack('>I', len(b) + 1) + b'J' + b)",
            "    except OSError:",
            "        pass",
            "try:",
            "    first = frame(s)",
            "    print('reply: %s' % (first.decode() if first is not None else 'none'), end='')",
            "    try:",
            "        rest = frame(s)",
            "    except ConnectionResetError:",
            "        rest = None",
            "    print(' then: %s' % ('closed' if rest is None else 'more'))",
            "except socket.timeout:",
            "    print('timeout: no reply within 5 s')",
            "");

    private String probe(int uid, Path script) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (uid != 0) {
            cmd.addAll(List.of("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups"));
        }
        cmd.addAll(List.of("/usr/bin/python3", script.toString(), b.socket().toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the probe finished");
        return out;
    }

    // ------------------------------------------------------------------ 9. one daemon per socket

    @Test
    void secondDaemon_refusesToStart_andAStaleSocketIsReplaced() throws Exception {
        startDaemon();
        long first = daemonPid;
        Brokerctl.Result second = b.run("daemon", "--detach");
        assertEquals(1, second.exit(), safe(second));
        assertTrue(second.err().contains("already running"), safe(second));
        assertEquals(first, b.daemonPid(), "the first daemon still serves the socket");

        ProcessHandle handle = ProcessHandle.of(first).orElseThrow();
        assertTrue(handle.destroyForcibly(), "kill -9 " + first);   // SIGKILL, as kill -9
        daemonRunning = false;
        awaitGone(first, "the killed daemon");
        assertTrue(Files.exists(b.socket(), LinkOption.NOFOLLOW_LINKS), "a killed daemon leaves its socket file");

        startDaemon();
        assertNotEquals(first, daemonPid);
        Brokerctl.Result status = b.run("status");
        assertEquals(0, status.exit(), safe(status));
        assertTrue(status.out().startsWith("running (pid " + daemonPid + ")"), safe(status));
        assertTrue(Files.readString(b.home.resolve("brokerd.log")).contains("replacing stale socket"));
    }

    // ------------------------------------------------------------------ helpers

    private Brokerctl.Result runDev(String... command) {
        List<String> args = new ArrayList<>(List.of("run", "--env", "dev", "--"));
        args.addAll(List.of(command));
        return b.run(args.toArray(String[]::new));
    }

    /** {@code daemon --detach} with light options; ready when it returns. */
    private void startDaemon(String... options) {
        List<String> args = new ArrayList<>(List.of("daemon", "--detach"));
        args.addAll(List.of(options));
        Brokerctl.Result r = b.run(args.toArray(String[]::new));
        assertEquals(0, r.exit(), safe(r));
        daemonRunning = true;
        assertTrue(r.out().contains("ready on " + b.socket()), safe(r));
        daemonPid = b.daemonPid();
    }

    /** {@code brokerctl stop}; then the socket file and the daemon process are gone. */
    private static void stopDaemon(Brokerctl x, long pid, Integer uid) throws Exception {
        Brokerctl.Result stop = uid == null ? x.run("stop") : x.runAs(uid, "stop");
        assertEquals(0, stop.exit(), "brokerctl stop: " + safe(stop));
        assertFalse(Files.exists(x.socket(), LinkOption.NOFOLLOW_LINKS), "socket file left behind: " + x.socket());
        if (pid > 0) {
            awaitGone(pid, "the stopped daemon");
        }
    }

    private static void noProcessOfThisTestLeft() {
        List<String> left = ProcessHandle.current().descendants().filter(h -> !gone(h))
                .map(h -> h.pid() + " " + h.info().command().orElse("?")).toList();
        assertTrue(left.isEmpty(), "processes of this test still running: " + left);
    }

    /**
     * No process anywhere on the host still has this test's home in its environment: the daemon's
     * runs inherit it from the daemon, and a detached daemon's orphans have parent pid 1, so the
     * check of this JVM's descendants above never sees them.
     */
    private static void noProcessAnywhereWithHome(Path home) throws IOException {
        byte[] needle = ("BROKERCTL_HOME=" + home).getBytes(StandardCharsets.UTF_8);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        List<String> left;
        do {
            left = new ArrayList<>();
            try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
                for (Path p : procs.filter(q -> q.getFileName().toString().matches("\\d+")).toList()) {
                    try {
                        for (String var : new String(Files.readAllBytes(p.resolve("environ")), StandardCharsets.ISO_8859_1)
                                .split("\0")) {
                            if (var.equals(new String(needle, StandardCharsets.ISO_8859_1))
                                    && !gone(ProcessHandle.of(Long.parseLong(p.getFileName().toString())).orElseThrow())) {
                                left.add(p.getFileName() + " " + Files.readString(p.resolve("cmdline")).replace('\0', ' '));
                            }
                        }
                    } catch (IOException | java.util.NoSuchElementException e) {
                        // gone meanwhile, or not ours to read
                    }
                }
            }
            if (left.isEmpty()) {
                return;
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        } while (System.nanoTime() < deadline);
        fail("processes of home " + home + " still running anywhere on the host: " + safe(left));
    }

    private Spawned track(Spawned s) {
        spawned.add(s);
        return s;
    }

    /** Polls the daemon's queue (its state, not the clock) until a run whose argv has {@code arg} waits. */
    /** The pending run whose argv holds {@code arg}, as an approver console sees it. */
    private static Message awaitPending(BrokerClient approver, String arg) throws BrokerException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            for (Message run : approver.call(Message.of("pending_list")).messages("runs")) {
                List<String> argv = run.strings("argv");
                if (argv != null && argv.contains(arg)) {
                    return run;
                }
            }
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
        }
        throw new AssertionError("no pending run with argument '" + arg + "' within 20s");
    }

    /** Gone: exited, or a zombie nobody reaps (the init of this VM does not reap orphans). */
    static boolean gone(ProcessHandle h) {
        if (!h.isAlive()) {
            return true;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(h.pid()), "stat"));
            // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state == 'Z' || state == 'X';
        } catch (NoSuchFileException e) {
            return true;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Waits on the process's exit (ProcessHandle.onExit), accepting a zombie as gone. */
    /** The host pid of the one process with {@code arg} among its arguments, waiting up to 20 s for it. */
    static long hostPid(String arg) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            List<Long> pids = processesWith(arg);
            if (pids.size() == 1) {
                return pids.get(0);
            }
            if (System.nanoTime() > deadline) {
                fail("expected one process with argument " + arg + ", found " + pids);
            }
            Thread.onSpinWait();
        }
    }

    static void awaitNoProcessWith(String arg, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!processesWith(arg).isEmpty()) {
            if (System.nanoTime() > deadline) {
                fail(what + " (argument " + arg + ") is still running after 20s: " + processesWith(arg));
            }
            Thread.onSpinWait();
        }
    }

    private static List<Long> processesWith(String arg) throws IOException {
        List<Long> out = new ArrayList<>();
        try (java.util.stream.Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(q -> q.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmdline = Files.readString(p.resolve("cmdline"), StandardCharsets.ISO_8859_1);
                    if (List.of(cmdline.split("\0")).contains(arg)) {
                        out.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // gone meanwhile
                }
            }
        }
        return out;
    }

    static void awaitGone(long pid, String what) throws InterruptedException, ExecutionException {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty()) {
            return;
        }
        CompletableFuture<ProcessHandle> exit = h.get().onExit();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!gone(h.get())) {
            if (System.nanoTime() > deadline) {
                fail(what + " (pid " + pid + ") is still running after 20s");
            }
            try {
                exit.get(50, TimeUnit.MILLISECONDS);
                return;
            } catch (TimeoutException e) {
                // a zombie never completes onExit: look at its state again
            }
        }
    }

    private static void copyTemplate(Path home) throws IOException {
        Files.createDirectories(home, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        for (String name : List.of("vault.db", "vault.db-wal", "vault.db-shm")) {
            Path from = templateHome.resolve(name);
            if (Files.exists(from)) {
                Files.copy(from, home.resolve(name), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
    }

    /** What the brief of a setpriv run allows: home, passphrase file, JAVA_HOME and PATH. */
    private static void onlyEssentials(Map<String, String> env, Path home, Path passphraseFile) {
        Map<String, String> keep = new LinkedHashMap<>();
        keep.put("BROKERCTL_HOME", home.toString());
        if (passphraseFile != null) {
            keep.put("BROKERCTL_PASSPHRASE_FILE", passphraseFile.toString());
        }
        keep.put("JAVA_HOME", env.get("JAVA_HOME"));
        keep.put("PATH", env.get("PATH"));
        env.clear();
        env.putAll(keep);
    }

    /** A fresh directory under /tmp that every user may pass through (0711) but not list. */
    private static Path worldTraversableDir() throws IOException {
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "brokerctl-it-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        return dir;
    }


    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ": " + out);
    }

    private static void expectOk(Brokerctl.Result r) {
        assertEquals(0, r.exit(), safe(r));
    }

    private static void assertOneLine(String err, String mentions) {
        assertEquals(1, err.lines().count(), "one line on stderr: " + safe(err));
        assertTrue(err.contains(mentions), safe(err));
    }

    // ------------------------------------------------------------------ canaries

    /** Every form of a secret the checks look for, with a label that does not reveal it. */
    private static Map<String, String> secretForms() {
        Map<String, String> forms = new LinkedHashMap<>();
        Map<String, String> secrets = new LinkedHashMap<>();
        secrets.put("TOKEN", CANARY);
        secrets.put("PEM line 1", PEM_LINE_1);
        secrets.put("PEM line 2", PEM_LINE_2);
        secrets.put("PEM", PEM);
        secrets.put("the passphrase", Brokerctl.PASSPHRASE);
        secrets.forEach((label, value) -> {
            byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
            forms.put(value, label);
            forms.put(Base64.getEncoder().encodeToString(bytes), label + " (base64)");
            forms.put(Base64.getEncoder().withoutPadding().encodeToString(bytes), label + " (base64, no padding)");
            forms.put(Base64.getUrlEncoder().withoutPadding().encodeToString(bytes), label + " (base64url)");
            // what the masker covers beyond those (DESIGN.md "Masking"), written here independently
            for (int skip = 0; skip < 3; skip++) {
                forms.put(alignedBase64(Base64.getEncoder(), bytes, skip), label + " (base64 after " + skip + " bytes)");
                forms.put(alignedBase64(Base64.getUrlEncoder(), bytes, skip), label + " (base64url after " + skip + " bytes)");
            }
            StringBuilder hex = new StringBuilder();
            StringBuilder percent = new StringBuilder();
            StringBuilder unicode = new StringBuilder();
            for (byte x : bytes) {
                hex.append(String.format("%02x", x & 0xff));
                percent.append(String.format("%%%02X", x & 0xff));
            }
            value.chars().forEach(ch -> unicode.append(String.format("\\u%04x", ch)));
            forms.put(hex.toString(), label + " (hex)");
            forms.put(hex.toString().toUpperCase(Locale.ROOT), label + " (HEX)");
            forms.put(percent.toString(), label + " (every byte percent-encoded)");
            forms.put(java.net.URLEncoder.encode(value, StandardCharsets.UTF_8), label + " (form-encoded)");
            forms.put(unicode.toString(), label + " (\\u escapes)");
            forms.put(value.replace("\\", "\\\\").replace("\n", "\\n"), label + " (JSON string)");
        });
        return forms;
    }

    /**
     * The base64 characters that depend on the value alone when {@code skip} other bytes come
     * before it: from the first whole group of the value to the last.
     */
    private static String alignedBase64(Base64.Encoder encoder, byte[] value, int skip) {
        byte[] shifted = new byte[skip + value.length];
        System.arraycopy(value, 0, shifted, skip, value.length);
        String all = encoder.withoutPadding().encodeToString(shifted);
        int start = new int[] {0, 2, 3}[skip];
        int end = 4 * (shifted.length / 3);
        return all.substring(start, end);
    }

    static void assertNoSecretIn(String where, String text) {
        secretForms().forEach((form, label) -> assertFalse(text.contains(form), where + " contains " + label));
    }

    /** Output for an assertion message, with every secret form blanked out. */
    static String safe(Object output) {
        String s = String.valueOf(output);
        for (String form : secretForms().keySet()) {
            s = s.replace(form, "<secret>");
        }
        return s;
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

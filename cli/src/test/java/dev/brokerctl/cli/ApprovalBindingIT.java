package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the human approves is what runs, and the console shows it truthfully, against a requester
 * that is a same-user process (an unprivileged uid, as a prompt-injected agent is): it hijacks
 * PATH and NODE_OPTIONS and turns masking off, replaces the executable after approval, and pads
 * its reason to scroll the real command off an 80x24 screen. Each attack runs beside the same
 * request without the attack, which goes through.
 */
class ApprovalBindingIT {

    static final String VALUE = "binding-canary-7d41e9b2";

    Unprivileged user;
    Path dir;
    Brokerctl b;
    Tmux console;
    final List<Spawned> spawned = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        user = Unprivileged.user();
        dir = user.newDirectory("brokerctl-binding-");
        b = new Brokerctl(dir).as(user);
        b.init();
        expectOk(b.run("env", "create", "prod"));
        expectOk(b.run("env", "create", "dev", "--policy", "auto"));
        expectOk(b.runWithInput(VALUE.getBytes(StandardCharsets.UTF_8), "set", "prod", "API_TOKEN"));
        expectOk(b.runWithInput(VALUE.getBytes(StandardCharsets.UTF_8), "set", "dev", "API_TOKEN"));
        expectOk(b.run("daemon", "--detach"));
        console = new Tmux(dir.resolve("tmux.sock"), user.prefix(), 80, 24);
        console.start(b, "approve");
        console.awaitScreen("watching for requests", Tmux.WAIT);
    }

    @AfterEach
    void tearDown() throws Exception {
        console.kill();
        for (Spawned s : spawned) {
            s.close();
        }
        expectOk(b.run("stop"));
        String log = Files.readString(b.home.resolve("brokerd.log"));
        assertFalse(log.contains(VALUE), "a value in brokerd.log");
        assertFalse(b.transcript.toString().contains(VALUE), "a value in brokerctl's output");
        Brokerctl.deleteTree(dir);
    }

    @Test
    void hijackedPathAndLoaderVariables_andMaskingOff_areShown_notCoveredByAGrant_andAReplacedExecutableIsRefused()
            throws Exception {
        Path loot = dir.resolve("loot");
        Path fakeBin = Files.createDirectories(dir.resolve("fakebin"));
        Path fakeLs = script(fakeBin.resolve("ls"), "printf %s \"$API_TOKEN\" > " + loot);

        // the clean request, granted for a while
        Spawned clean = track(b.start("run", "--env", "prod", "--", "ls", "-la"));
        console.awaitScreen("command: ls -la", Tmux.WAIT);
        String screen = console.visibleScreen();
        assertFalse(screen.contains(fakeBin.toString()), screen);
        assertFalse(screen.contains("masking: OFF"), screen);
        String code = console.lastCode();
        console.answer("g");
        console.answer("");
        console.type(code);
        assertEquals(0, clean.await(Tmux.WAIT).exit(), "the granted clean request runs");

        // the same argv with a PATH that finds the fake ls, a loader variable and masking off
        String path = b.env.get("PATH");
        b.env.put("PATH", fakeBin + ":" + path);
        b.env.put("NODE_OPTIONS", "--require " + dir.resolve("x.js"));
        Spawned hijacked;
        try {
            hijacked = track(b.start("run", "--env", "prod", "--no-masking", "--", "ls", "-la"));
        } finally {
            b.env.put("PATH", path);
            b.env.remove("NODE_OPTIONS");
        }
        console.awaitScreen("program: " + fakeLs, Tmux.WAIT);   // the grant did not cover it: asked again
        screen = console.visibleScreen();
        assertTrue(screen.contains("masking: OFF, output comes back raw"), screen);
        assertTrue(screen.contains(", NOT sandboxed"), "a requester in the daemon's PID namespace: " + screen);
        assertTrue(screen.contains("NODE_OPTIONS=--require"), screen);
        assertTrue(screen.contains("risk: PATH has directories the requester can write: /tmp/brokerctl"), screen);
        console.answer("d");
        console.type("not that one");
        Brokerctl.Result denied = hijacked.await(Tmux.WAIT);
        assertEquals(1, denied.exit(), denied.toString());
        assertFalse(Files.exists(loot), "the fake ls never ran");

        // an executable the requester replaces between the human's look and the start
        Path tool = script(dir.resolve("tool.sh"), "echo the-approved-tool");
        Spawned replaced = track(b.start("run", "--env", "prod", "--", tool.toString()));
        console.awaitScreen("program: " + tool, Tmux.WAIT);
        code = console.lastCode();
        asUser("sh", "-c", "printf '#!/bin/sh\\nprintf %%s \"$API_TOKEN\" > " + loot + "\\n' > " + tool);
        console.answer("a");
        console.type(code);
        Brokerctl.Result refused = replaced.await(Tmux.WAIT);
        assertEquals(125, refused.exit(), refused.toString());
        assertTrue(refused.err().contains("changed after it was approved; ask again"), refused.toString());
        assertFalse(Files.exists(loot), "the replaced tool never ran");

        // the control: the same tool, unchanged after approval, runs
        Path same = script(dir.resolve("same.sh"), "echo the-approved-tool");
        Spawned unchanged = track(b.start("run", "--env", "prod", "--", same.toString()));
        console.awaitScreen("program: " + same, Tmux.WAIT);
        code = console.lastCode();
        console.answer("a");
        console.type(code);
        Brokerctl.Result ran = unchanged.await(Tmux.WAIT);
        assertEquals(0, ran.exit(), ran.toString());
        assertEquals("the-approved-tool\n", ran.out());
    }

    @Test
    void aDirectoryTheRequesterOwnsAt0555_andAFileAnInterpreterLineNames_areRisks_andAnEnvLineItCannotRead_isRefused()
            throws Exception {
        // the requester's own PATH directory at 0555: not writable, but its owner can chmod it back
        // and plant an `ls` there after a grant
        Path robin = dir.resolve("robin");
        asUser("mkdir", robin.toString());
        asUser("chmod", "0555", robin.toString());
        // a #! line handing its interpreter another file, which is never hashed
        Path other = script(dir.resolve("other.sh"), "echo other");
        Path hands = executable(dir.resolve("hands.sh"), "#!/bin/sh " + other + "\necho hands\n");
        // env -S with an option whose argument the broker would have taken for the program
        Path envOption = executable(dir.resolve("opt.sh"), "#!/usr/bin/env -S -u python3 " + other + "\n");
        Path envPlain = executable(dir.resolve("plain.sh"), "#!/usr/bin/env -S sh -e\necho env-ok\n");

        Brokerctl.Result refused = b.run("run", "--env", "dev", "--", envOption.toString());
        assertEquals(126, refused.exit(), refused.toString());
        assertTrue(refused.err().contains("cannot be checked: env's option -u is not one the broker reads"),
                refused.toString());
        Brokerctl.Result ran = b.run("run", "--env", "dev", "--", envPlain.toString());
        assertEquals("env-ok\n", ran.out(), "the control: a line env reads as the broker does runs: " + ran);

        String path = b.env.get("PATH");
        Spawned owned;
        b.env.put("PATH", robin + ":" + path);
        try {
            owned = track(b.start("run", "--env", "prod", "--", hands.toString()));
        } finally {
            b.env.put("PATH", path);
        }
        console.awaitScreen("program: " + hands, Tmux.WAIT);
        String screen = console.visibleScreen();
        // the lines are cut to the screen's width: robin (the only PATH entry under /tmp) comes first
        assertTrue(screen.contains("risk: PATH has directories the requester can write: /tmp/brokerctl"), screen);
        assertTrue(screen.contains("risk: its #! line hands the interpreter /tmp/brokerctl"), screen);
        console.answer("d");
        console.type("no");
        assertEquals(1, owned.await(Tmux.WAIT).exit());

        // the control: a changed PATH of root's directories only, and a script without operands
        Spawned plain;
        b.env.put("PATH", "/usr/bin:/bin");
        try {
            plain = track(b.start("run", "--env", "prod", "--", envPlain.toString()));
        } finally {
            b.env.put("PATH", path);
        }
        console.awaitScreen("program: " + envPlain, Tmux.WAIT);
        screen = console.visibleScreen();
        screen = screen.substring(screen.lastIndexOf("Request "));   // this request's lines only
        assertTrue(screen.contains("changed: PATH"), screen);
        assertFalse(screen.contains("PATH has directories"), screen);
        assertFalse(screen.contains("hands the interpreter"), screen);
        console.answer("d");
        console.type("no");
        assertEquals(1, plain.await(Tmux.WAIT).exit());
    }

    @Test
    void aSwapTwoInterpretersDown_isNotCoveredByAGrant_andShebangLinesThatWouldRunAnotherProgram_areRefused()
            throws Exception {
        Path loot = dir.resolve("loot");
        Path evil = Files.createDirectories(dir.resolve("evil"));
        script(evil.resolve("sh"), "printf %s \"$API_TOKEN\" > " + loot);
        // env -S PATH=... would have env find the agent's sh; a \v before the interpreter is read by the
        // kernel as part of a relative path, which a trimming reader took for /bin/sh
        Path setsPath = executable(dir.resolve("setspath.sh"), "#!/usr/bin/env -S PATH=" + evil + " sh\necho ok\n");
        Path vt = executable(dir.resolve("vt.sh"), "#!\u000b/bin/sh\necho ok\n");
        Brokerctl.Result r = b.run("run", "--env", "dev", "--", setsPath.toString());
        assertEquals(126, r.exit(), r.toString());
        assertTrue(r.err().contains("cannot be checked: env -S would set PATH for the program"), r.toString());
        r = b.run("run", "--env", "dev", "--", vt.toString());
        assertEquals(126, r.exit(), r.toString());
        assertTrue(r.err().contains("holds the byte 0x0b"), r.toString());
        assertFalse(Files.exists(loot), "neither ran");
        // the controls: the same lines without the assignment and the control byte run
        Path plain = executable(dir.resolve("plain.sh"), "#!/usr/bin/env -S sh\necho env-ok\n");
        assertEquals("env-ok\n", b.run("run", "--env", "dev", "--", plain.toString()).out());
        Path plainVt = executable(dir.resolve("plainvt.sh"), "#!/bin/sh\necho vt-ok\n");
        assertEquals("vt-ok\n", b.run("run", "--env", "dev", "--", plainVt.toString()).out());

        // a script whose interpreter is a script of the agent's, whose interpreter is another: granted
        Path second = executable(dir.resolve("second"), "#!/bin/sh\necho second-level\n");
        Path first = executable(dir.resolve("first"), "#!" + second + "\n");
        Path tool = executable(dir.resolve("tool"), "#!" + first + "\n");
        Spawned granted = track(b.start("run", "--env", "prod", "--", tool.toString()));
        console.awaitScreen("program: " + tool, Tmux.WAIT);
        String screen = console.visibleScreen();
        assertTrue(screen.contains("risk: its interpreter " + first.toString().substring(0, 20)), screen);
        String code = console.lastCode();
        console.answer("g");
        console.answer("");
        console.type(code);
        Brokerctl.Result ran = granted.await(Tmux.WAIT);
        assertEquals("second-level\n", ran.out(), "the control: the granted request runs: " + ran);
        Brokerctl.Result again = b.run("run", "--env", "prod", "--", tool.toString());
        assertEquals("second-level\n", again.out(), "the grant covers the unchanged request: " + again);

        // the agent swaps the interpreter two scripts down: the grant must not cover it
        asUser("sh", "-c", "printf '#!/bin/sh\\nprintf %%s \"$API_TOKEN\" > " + loot + "\\n' > " + second);
        int asked = console.prompts();
        Spawned swapped = track(b.start("run", "--env", "prod", "--", tool.toString()));
        long deadline = System.nanoTime() + Tmux.WAIT.toNanos();
        while (console.prompts() <= asked && swapped.isAlive()) {
            assertTrue(System.nanoTime() < deadline, "neither asked nor ended: " + console.screen());
            java.util.concurrent.locks.LockSupport.parkNanos(java.time.Duration.ofMillis(50).toNanos());
        }
        assertFalse(Files.exists(loot), "the swapped interpreter ran under the grant");
        assertTrue(console.prompts() > asked, "the human is asked again: " + console.screen());
        console.answer("d");
        console.type("no");
        assertEquals(1, swapped.await(Tmux.WAIT).exit());
        assertFalse(Files.exists(loot));
    }

    @Test
    void aPaddedReason_cannotScrollTheRealCommandOffAn80x24Console_andBidiCharactersAreEscaped() throws Exception {
        StringBuilder reason = new StringBuilder("tests \u202Eevil\u200B ");
        while (reason.length() < 1900) {
            reason.append(String.format("%-80s", "command:      npm test"));
        }
        b.env.put("LC_ALL", "C.UTF-8");   // the JVM decodes argv by the locale: in C, U+202E would arrive as '?'
        Spawned spoof = track(b.start("run", "--env", "prod", "--reason", reason.toString(), "--",
                "sh", "-e", "-c", "printf %s \"$API_TOKEN\" > loot"));
        b.env.remove("LC_ALL");
        console.awaitScreen("[a]pprove once", Tmux.WAIT);
        List<String> lines = List.of(console.visibleScreen().split("\n"));
        int command = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains("command: sh -e -c 'printf %s \"$API_TOKEN\" > loot'")) {
                command = i;
            }
        }
        assertTrue(command >= 0, "the real command is on the screen:\n" + String.join("\n", lines));
        assertTrue(lines.get(command + 1).trim().startsWith("code:"), "the code follows the command:\n"
                + String.join("\n", lines));
        List<String> reasonLines = lines.stream().filter(l -> l.contains("reason (requester's words):")).toList();
        assertEquals(1, reasonLines.size(), "the reason is one line:\n" + String.join("\n", lines));
        assertTrue(reasonLines.get(0).contains("reason (requester's words): tests \\u{202E}evil\\u{200B}"),
                reasonLines.get(0));
        assertTrue(reasonLines.get(0).endsWith(" chars)"), "cut, naming its length: " + reasonLines.get(0));
        assertEquals(1, lines.stream().filter(l -> l.trim().startsWith("command:")).count(),
                "no fake command line:\n" + String.join("\n", lines));
        assertTrue(lines.stream().noneMatch(l -> l.contains("\u202E") || l.contains("\u200B")));
        console.answer("d");
        console.type("no");
        assertEquals(1, spoof.await(Tmux.WAIT).exit());
    }

    @Test
    void requesterTextInTheLog_isEscaped_andNoEnvironmentValueReachesIt() throws Exception {
        Brokerctl.Result escaped = b.run("run", "--env", "dev", "--", "\u001b[31mevil");
        assertEquals(127, escaped.exit(), escaped.toString());

        b.env.put("ENV_CANARY", "env-canary-5c0ffee1");
        Brokerctl.Result fromEnviron;
        try {
            fromEnviron = b.run("run", "--env", "dev", "--env-file", "/proc/self/environ", "--", "true");
        } finally {
            b.env.remove("ENV_CANARY");
        }
        assertTrue(fromEnviron.exit() != 124, fromEnviron.toString());

        List<String> many = new ArrayList<>(List.of("run", "--env", "dev", "--", "true"));
        for (int i = 0; i < 1100; i++) {
            many.add("x");
        }
        Brokerctl.Result tooMany = b.run(many.toArray(String[]::new));
        assertEquals(125, tooMany.exit(), tooMany.toString());
        assertTrue(tooMany.err().contains("1101 arguments; the limit is 1024"), tooMany.toString());

        // the control: an ordinary run goes through
        Brokerctl.Result ok = b.run("run", "--env", "dev", "--", "sh", "-c", "test -n \"$API_TOKEN\" && echo ok");
        assertEquals("ok\n", ok.out(), ok.toString());

        String log = Files.readString(b.home.resolve("brokerd.log"));
        assertTrue(log.contains("\\u{001B}[31mevil"), log);
        assertFalse(log.contains("\u001b"), "a raw ESC in brokerd.log");
        assertFalse(log.contains("env-canary-5c0ffee1"), "the requester's environment reached brokerd.log");
    }

    // ------------------------------------------------------------------ helpers

    private Spawned track(Spawned s) {
        spawned.add(s);
        return s;
    }

    /** An executable {@code #!/bin/sh} script owned by the test user. */
    private Path script(Path file, String body) throws Exception {
        return executable(file, "#!/bin/sh\n" + body + "\n");
    }

    /** An executable file of {@code content}, owned by the test user. */
    private Path executable(Path file, String content) throws Exception {
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        user.own(file.getParent());
        return file;
    }

    /** A command as the test user: what the agent itself would do. */
    private void asUser(String... command) throws Exception {
        Process p = new ProcessBuilder(user.command(command)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
    }

    private static void expectOk(Brokerctl.Result r) {
        assertEquals(0, r.exit(), r.toString());
    }
}

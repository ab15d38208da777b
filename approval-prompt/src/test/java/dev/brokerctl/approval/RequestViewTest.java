package dev.brokerctl.approval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.Message;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RequestViewTest {

    private static final List<String> LOOT = List.of("sh", "-e", "-c", "printf %s \"$API_TOKEN\" > loot");

    /** A pending run as the daemon sends it, every field present. */
    private static Map<String, Object> run() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("run_id", 7L);
        r.put("environment", "prod");
        r.put("policies", Map.of("prod", "prompt"));
        r.put("argv", LOOT);
        r.put("executable", "/usr/bin/sh");
        r.put("cwd", "/home/u/proj");
        r.put("variables", List.of("API_TOKEN"));
        r.put("refs", List.of());
        r.put("reason", "run the tests");
        r.put("verified", map("pid", 4242L, "uid", 1000L, "exe", "/usr/bin/node", "tty", "/dev/pts/3"));
        r.put("claimed", map("name", "claude-code", "version", "1.2.3", "pid", 4242L));
        r.put("overrides", List.of());
        r.put("override_count", 0L);
        r.put("masking", true);
        r.put("stdin", false);
        r.put("timeout_ms", 300_000L);
        r.put("approval_timeout_ms", 120_000L);
        r.put("risks", List.of("runs an interpreter with inline code (sh -e)"));
        r.put("request_hash", "abc");
        r.put("code", "ABC-DEF");
        return r;
    }

    private static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private static Message message(Map<String, Object> fields) {
        Message m = Message.of("run");
        fields.forEach(m::with);
        return m;
    }

    private static List<String> render(Map<String, Object> r) {
        return RequestView.run(message(r), 80, false);
    }

    @Test
    void run_showsEveryFieldOnItsOwnLine_commandAndCodeLast() {
        assertEquals(List.of(
                "Request 7: run a command in 'prod' (policy prompt)",
                "  program: /usr/bin/sh",
                "  cwd: /home/u/proj",
                "  variables: API_TOKEN (1)",
                "  environment: the daemon's",
                "  timeouts: command 5m, approval 2m",
                "  reason (requester's words): run the tests",
                "  verified: pid 4242 uid 1000 /usr/bin/node, terminal /dev/pts/3",
                "  claims to be: claude-code 1.2.3 (pid 4242)",
                "  risk: runs an interpreter with inline code (sh -e)",
                "  command: sh -e -c 'printf %s \"$API_TOKEN\" > loot'",
                "  code: ABC-DEF"), render(run()));
    }

    @Test
    void paddedReasonSpoof_staysOneLine_andTheRealCommandIsNextToTheCode() {
        Map<String, Object> r = run();
        String fake = ("command: npm test" + " ".repeat(70)).repeat(23);
        r.put("reason", fake);
        List<String> lines = render(r);
        List<String> reasons = lines.stream().filter(l -> l.contains("npm test")).toList();
        assertEquals(List.of("  reason (requester's words): command: npm test" + " ".repeat(19) + "… (2001 chars)"), reasons);
        assertEquals(12, lines.size());
        assertEquals("  command: sh -e -c 'printf %s \"$API_TOKEN\" > loot'", lines.get(lines.size() - 2));
        assertEquals("  code: ABC-DEF", lines.get(lines.size() - 1));
    }

    @Test
    void bidiAndZeroWidth_inReasonAndClientName_areEscaped() {
        Map<String, Object> r = run();
        r.put("reason", "fix \u202etxt.exe");
        r.put("claimed", map("name", "claude\u200bcode", "version", "1\u202e2"));
        List<String> lines = render(r);
        assertTrue(lines.contains("  reason (requester's words): fix \\u{202E}txt.exe"), lines.toString());
        assertTrue(lines.contains("  claims to be: claude\\u{200B}code 1\\u{202E}2"), lines.toString());
    }

    @Test
    void claimedFields_areLabelledAsClaims() {
        List<String> lines = render(run());
        assertEquals(List.of("  claims to be: claude-code 1.2.3 (pid 4242)"),
                lines.stream().filter(l -> l.contains("claude-code")).toList());
    }

    @Test
    void maskingOff_unsandboxed_noTerminal_stdinAndNoTimeout_areShown() {
        Map<String, Object> r = run();
        r.put("masking", false);
        r.put("stdin", true);
        r.put("timeout_ms", 0L);
        r.remove("approval_timeout_ms");
        r.put("verified", map("pid", 9L, "uid", 1000L, "exe", "/usr/bin/python3", "tty", "", "sandboxed", false));
        List<String> lines = render(r);
        assertTrue(lines.contains("  masking: OFF, output comes back raw"), lines.toString());
        assertTrue(lines.contains("  stdin: attached; timeouts: command none"), lines.toString());
        assertTrue(lines.contains("  verified: pid 9 uid 1000 /usr/bin/python3, no terminal, NOT sandboxed"), lines.toString());
    }

    @Test
    void emptyAndAbsentFields_areLeftOut() {
        Map<String, Object> r = map("run_id", 3L, "environment", "dev", "argv", List.of("npm", "test"),
                "cwd", "", "reason", "", "variables", List.of(), "code", "AB-CD");
        assertEquals(List.of("Request 3: run a command in 'dev'", "  command: npm test", "  code: AB-CD"), render(r));
    }

    @Test
    void allVariables_refsInterpreterAndPolicies() {
        Map<String, Object> r = run();
        r.put("all_variables", true);
        r.put("variables", List.of("A", "B", "C"));
        r.put("refs", List.of("DB=broker://shared/DB_URL"));
        r.put("policies", map("prod", "prompt", "shared", "auto"));
        r.put("executable", "/home/u/proj/run.js");
        r.put("interpreter", "/usr/bin/node");
        r.put("interpreter_via", "/usr/bin/env");
        List<String> lines = render(r);
        assertEquals("Request 7: run a command in 'prod' (policies: prod prompt, shared auto)", lines.get(0));
        assertEquals("  program: /home/u/proj/run.js", lines.get(1));
        assertEquals("  via interpreter /usr/bin/node (#! through /usr/bin/env)", lines.get(2));
        assertTrue(lines.contains("  variables: all 3 of 'prod': A, B, C"), lines.toString());
        assertTrue(lines.contains("  refs: DB=broker://shared/DB_URL (1)"), lines.toString());
    }

    @Test
    void overrides_nameTheChange_andRiskyOnesAreRiskLines() {
        Map<String, Object> r = run();
        r.put("overrides", List.of(map("name", "NODE_OPTIONS", "value", "--require /tmp/x.js", "risk", true),
                map("name", "FOO", "value", "bar\nbaz", "risk", false)));
        r.put("override_count", 2L);
        List<String> lines = RequestView.run(message(r), 120, false);
        assertTrue(lines.contains("  environment: the daemon's + 2 changed: NODE_OPTIONS, FOO ([v])"),
                lines.toString());
        assertTrue(lines.contains("  risk: environment NODE_OPTIONS=--require /tmp/x.js (changes how programs load code)"),
                lines.toString());
        List<String> narrow = render(r);
        assertTrue(narrow.contains("  environment: the daemon's + 2 changed: NODE_OPTIONS, FOO ([v])"),
                narrow.toString());
        assertTrue(narrow.contains("  risk: environment NODE_OPTIONS=--require /tmp/x.js"), narrow.toString());
        assertEquals(List.of("  NODE_OPTIONS=--require /tmp/x.js  (risk: changes how programs load code)", "  FOO=bar\\u{000A}baz"),
                RequestView.overrides(message(r)));
    }

    @Test
    void manyRisks_showFive_andSayHowManyMore() {
        Map<String, Object> r = run();
        List<String> risks = new ArrayList<>();
        for (int i = 1; i <= 8; i++) {
            risks.add("risk number " + i);
        }
        r.put("risks", risks);
        List<String> lines = render(r);
        assertEquals("  risk: risk number 5", lines.get(lines.size() - 4));
        assertEquals("  +3 more risks ([r] lists them)", lines.get(lines.size() - 3));
        assertFalse(lines.contains("  risk: risk number 6"));
        assertEquals(8, RequestView.risks(message(r), 80).size());
    }

    @Test
    void longCommand_takesThreeLines_thenSaysHowMuchIsLeft() {
        Map<String, Object> r = run();
        r.put("argv", List.of("echo", "x".repeat(300)));
        List<String> lines = render(r);
        int n = lines.size();
        assertEquals("  command: echo " + "x".repeat(64), lines.get(n - 4));
        assertEquals(" ".repeat(11) + "x".repeat(69), lines.get(n - 3));
        assertEquals(" ".repeat(11) + "x".repeat(23) + "… (144 more chars; [f] shows the full command)", lines.get(n - 2));
        List<String> full = RequestView.fullCommand(message(r), 80);
        assertEquals(5, full.size());
        assertEquals("echo " + "x".repeat(300), String.join("", full.stream().map(l -> l.substring(11)).toList()));

        r.put("argv", List.of("echo", "y".repeat(130)));
        List<String> two = render(r);
        assertEquals("  command: echo " + "y".repeat(64), two.get(two.size() - 3));
        assertEquals(" ".repeat(11) + "y".repeat(66), two.get(two.size() - 2), "a command that fits is not cut");
    }

    @Test
    void commandWithBidiAndZeroWidth_isEscaped() {
        Map<String, Object> r = run();
        r.put("argv", List.of("ls", "a\u202eb", "c\u200bd"));
        List<String> lines = render(r);
        assertEquals("  command: ls $'a\\u202eb' $'c\\u200bd'", lines.get(lines.size() - 2));
    }

    @Test
    void olderDaemonShape_neverShowsTheRequestersExeAsTheProgram() {
        Map<String, Object> r = map("run_id", 2L, "environment", "dev", "argv", List.of("true"), "client", "claude-code",
                "client_version", "1.0", "pid", 5L, "executable", "/usr/bin/node", "tty", "", "code", "X");
        assertEquals(List.of("Request 2: run a command in 'dev'", "  verified: pid 5 /usr/bin/node, no terminal",
                "  claims to be: claude-code 1.0", "  command: true", "  code: X"), render(r));
    }

    @Test
    void autoVariable_warnsProminently_promptDoesNot() {
        Map<String, Object> v = map("request_id", 4L, "environment", "dev", "name", "STRIPE_KEY",
                "description", "the test key\nSTRIPE_KEY is safe", "policy", "auto",
                "verified", map("pid", 9L, "uid", 1000L, "exe", "/usr/bin/node", "tty", ""),
                "claimed", map("name", "claude-code"));
        assertEquals(List.of(
                "Request 4: a value for a new variable 'STRIPE_KEY' in 'dev' (policy auto)",
                "  WARNING: 'dev' is an auto environment: the requester will be able to use this",
                "    value in any command without asking",
                "  description (requester's words): the test key\\u{000A}STRIPE_KEY is safe",
                "  verified: pid 9 uid 1000 /usr/bin/node, no terminal",
                "  claims to be: claude-code"), RequestView.variable(message(v), 80, false));
        v.put("policy", "prompt");
        List<String> lines = RequestView.variable(message(v), 80, false);
        assertTrue(lines.stream().noneMatch(l -> l.contains("WARNING")), lines.toString());
        assertEquals("Request 4: a value for a new variable 'STRIPE_KEY' in 'dev' (policy prompt)", lines.get(0));
    }

    @Test
    void colour_onlyWhenAsked() {
        assertTrue(render(run()).stream().noneMatch(l -> l.contains("\u001b")));
        List<String> colored = RequestView.run(message(run()), 80, true);
        assertEquals("\u001b[1mRequest 7: run a command in 'prod' (policy prompt)\u001b[0m", colored.get(0));
        assertEquals("  code: \u001b[1mABC-DEF\u001b[0m", colored.get(colored.size() - 1));
    }

    /** Hostile inputs of every size: the block stays bounded and ends with what runs, then the code. */
    @Test
    void anyInput_staysWithinItsHeightAndWidth_andEndsWithCommandThenCode() {
        Random random = new Random(42);
        // 400 rounds; the mutation tests run a quarter (approval-prompt/pom.xml): it runs once per mutant
        int rounds = 4 * Integer.getInteger("brokerctl.approval.testScale", 100);
        for (int n = 0; n < rounds; n++) {
            Map<String, Object> r = run();
            for (String key : List.of("environment", "executable", "interpreter", "interpreter_via", "cwd", "reason", "code")) {
                r.put(key, junk(random));
            }
            List<String> argv = junkList(random, 40);
            argv.add(junk(random));
            r.put("argv", argv);
            r.put("variables", junkList(random, 60));
            r.put("refs", junkList(random, 20));
            r.put("risks", junkList(random, 30));
            r.put("all_variables", random.nextBoolean());
            r.put("masking", random.nextBoolean());
            r.put("stdin", random.nextBoolean());
            r.put("policies", map(junk(random), "prompt", junk(random), "auto"));
            r.put("verified", map("pid", 1L, "uid", 2L, "exe", junk(random), "tty", junk(random), "sandboxed", false));
            r.put("claimed", map("name", junk(random), "version", junk(random), "pid", 3L));
            List<Object> overrides = new ArrayList<>();
            for (int k = random.nextInt(30); k > 0; k--) {
                overrides.add(map("name", junk(random), "value", junk(random), "risk", random.nextBoolean()));
            }
            r.put("overrides", overrides);
            int width = random.nextInt(200);
            List<String> lines = RequestView.run(message(r), width, false);
            assertTrue(lines.size() <= RequestView.MAX_RUN_LINES, lines.size() + " lines");
            checkLines(lines, width);
            assertTrue(lines.get(lines.size() - 1).startsWith("  code: "));
            int command = lines.size() - 2;
            while (lines.get(command).startsWith(" ".repeat(11))) {
                command--;
            }
            assertTrue(lines.get(command).startsWith("  command: ") && command >= lines.size() - 4, lines.toString());

            Map<String, Object> v = map("request_id", 1L, "environment", junk(random), "name", junk(random),
                    "description", junk(random), "policy", random.nextBoolean() ? "auto" : "prompt",
                    "verified", r.get("verified"), "claimed", r.get("claimed"), "risks", r.get("risks"));
            List<String> vlines = RequestView.variable(message(v), width, false);
            assertTrue(vlines.size() <= RequestView.MAX_VARIABLE_LINES, vlines.size() + " lines");
            checkLines(vlines, width);
        }
    }

    private static void checkLines(List<String> lines, int width) {
        int w = width <= 0 ? 80 : Math.max(width, 60);
        for (String l : lines) {
            assertTrue(ConsoleText.columns(l) <= w, () -> w + " columns: " + l);
            assertTrue(l.codePoints().noneMatch(ConsoleText::escaped), () -> "raw control or invisible: " + l);
        }
    }

    private static final String[] PARTS = {"a", " ", "\n", "\r", "\u001b[2J", "\u202e", "\u200b", "日", "😀", "\\",
        "command: npm test", " ".repeat(70), "\u2028", "\ud800", "\u0085"};

    private static String junk(Random random) {
        StringBuilder s = new StringBuilder();
        for (int k = random.nextInt(random.nextBoolean() ? 5 : 400); k > 0; k--) {
            s.append(PARTS[random.nextInt(PARTS.length)]);
        }
        return s.toString();
    }

    private static List<String> junkList(Random random, int max) {
        List<String> out = new ArrayList<>();
        for (int k = random.nextInt(max); k > 0; k--) {
            out.add(junk(random));
        }
        return out;
    }
}

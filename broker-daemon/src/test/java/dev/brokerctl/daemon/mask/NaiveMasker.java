package dev.brokerctl.daemon.mask;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Test oracle: leftmost-longest replacement by brute force, straight from the definition, with
 * no automaton. Patterns come from {@link SecretPatterns#all}, attributed like {@link Masker}.
 */
final class NaiveMasker {

    /** Pattern (ISO-8859-1, one char per byte) to the name it is attributed to. */
    private final Map<String, String> nameOf = new HashMap<>();
    private final List<String> patterns;
    int count;

    NaiveMasker(Map<String, byte[]> secrets) {
        Map<String, Integer> rank = new HashMap<>();
        for (Map.Entry<String, byte[]> e : new TreeMap<>(secrets).entrySet()) {
            List<byte[]> rawAndLines = SecretPatterns.rawAndLines(e.getValue());
            for (byte[] p : SecretPatterns.all(e.getValue())) {
                String s = latin1(p);
                boolean raw = rawAndLines.stream().anyMatch(r -> java.util.Arrays.equals(r, p));
                int r = raw ? 0 : 1;
                // Raw/line beats encoded; among equals the first (sorted) name wins.
                if (!rank.containsKey(s) || r < rank.get(s)) {
                    rank.put(s, r);
                    nameOf.put(s, e.getKey());
                }
            }
        }
        patterns = new ArrayList<>(nameOf.keySet());
    }

    List<String> patterns() {
        return patterns;
    }

    byte[] mask(byte[] whole) {
        String text = latin1(whole);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        count = 0;
        int i = 0;
        while (i < text.length()) {
            String best = null;
            for (String p : patterns) {
                if (text.startsWith(p, i) && (best == null || p.length() > best.length())) {
                    best = p;
                }
            }
            if (best == null) {
                out.write(whole[i++]);
            } else {
                out.writeBytes(("[MASKED:" + nameOf.get(best) + "]").getBytes(StandardCharsets.UTF_8));
                count++;
                i += best.length();
            }
        }
        return out.toByteArray();
    }

    static String latin1(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    static byte[] latin1(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Compares without printing either array (they may hold canary values). */
    static void assertSameBytes(byte[] expected, byte[] actual, String context) {
        int n = Math.min(expected.length, actual.length);
        int at = 0;
        while (at < n && expected[at] == actual[at]) {
            at++;
        }
        if (at < n || expected.length != actual.length) {
            fail(context + ": output differs at byte " + at + " (expected " + expected.length
                    + " bytes, got " + actual.length + ")");
        }
    }

    /** {@link #assertSameBytes} for ISO-8859-1 text: never prints either side. */
    static void assertOutput(String expected, String actual) {
        assertSameBytes(latin1(expected), latin1(actual), "masked output");
    }

    static void assertOutput(String expected, String actual, String context) {
        assertSameBytes(latin1(expected), latin1(actual), context);
    }

    /** Fails, naming only the index, if {@code haystack} contains any of the patterns. */
    static void assertNoPattern(byte[] haystack, List<String> patterns, String context) {
        String text = latin1(haystack);
        for (int k = 0; k < patterns.size(); k++) {
            int at = text.indexOf(patterns.get(k));
            if (at >= 0) {
                fail(context + ": pattern #" + k + " left in output at byte " + at);
            }
        }
    }
}

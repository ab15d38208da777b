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
 * Test oracle, by brute force straight from the definition, with no automaton and no streaming.
 * Stage one: decode the whole output into the view (an independent, whole-buffer reading of
 * {@link EscapeView}'s rules), take the leftmost-longest decoded form
 * ({@link SecretPatterns#decodedForms}) from each view position on, replace the original bytes
 * it came from. Stage two, on stage one's output: leftmost-longest replacement of the raw
 * patterns ({@link SecretPatterns#rawAndLines}). Attribution among equal patterns: a value
 * before another value's encoded form, then the name that sorts first.
 */
final class NaiveMasker {

    private final Map<String, String> rawName = new HashMap<>();
    private final Map<String, String> decodedName = new HashMap<>();
    private final java.util.Set<String> plainValues = new java.util.HashSet<>();
    /** Every registered pattern, raw and decoded (normalised), for "nothing left" checks. */
    private final List<String> patterns = new ArrayList<>();
    int count;

    NaiveMasker(Map<String, byte[]> secrets) {
        for (Map.Entry<String, byte[]> e : new TreeMap<>(secrets).entrySet()) {
            for (byte[] p : SecretPatterns.rawAndLines(e.getValue())) {
                rawName.putIfAbsent(latin1(p), e.getKey());
            }
            String plain = latin1(SecretPatterns.normalise(e.getValue()));
            for (byte[] p : SecretPatterns.decodedForms(e.getValue())) {
                if (latin1(p).equals(plain) && !plainValues.contains(plain)) {
                    plainValues.add(plain);
                    decodedName.put(plain, e.getKey());
                }
                decodedName.putIfAbsent(latin1(p), e.getKey());
            }
        }
        patterns.addAll(rawName.keySet());
        patterns.addAll(decodedName.keySet());
    }

    /** Raw patterns and decoded forms; a decoded form is looked for in the decoded view. */
    List<String> patterns() {
        return patterns;
    }

    int patternCount() {
        return rawName.size() + decodedName.size();
    }

    byte[] mask(byte[] whole) {
        count = 0;
        byte[] once = decodedName.isEmpty() ? whole : maskDecoded(whole);
        return maskRaw(once);
    }

    private byte[] maskRaw(byte[] whole) {
        String text = latin1(whole);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < text.length()) {
            String best = null;
            for (String p : rawName.keySet()) {
                if (text.startsWith(p, i) && (best == null || p.length() > best.length())) {
                    best = p;
                }
            }
            if (best == null) {
                out.write(whole[i++]);
            } else {
                out.writeBytes(("[MASKED:" + rawName.get(best) + "]").getBytes(StandardCharsets.UTF_8));
                count++;
                i += best.length();
            }
        }
        return out.toByteArray();
    }

    private byte[] maskDecoded(byte[] text) {
        View view = View.of(text);
        String v = view.text.toString();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int done = 0;
        int u = 0;
        while (u < v.length()) {
            String best = null;
            for (String p : decodedName.keySet()) {
                if (v.startsWith(p, u) && (best == null || p.length() > best.length())) {
                    best = p;
                }
            }
            if (best == null) {
                u++;
                continue;
            }
            int from = Math.max(view.start.get(u), done);
            out.write(text, done, from - done);
            out.writeBytes(("[MASKED:" + decodedName.get(best) + "]").getBytes(StandardCharsets.UTF_8));
            count++;
            done = Math.max(done, view.end.get(u + best.length() - 1));
            u += best.length();
        }
        out.write(text, done, text.length - done);
        return out.toByteArray();
    }

    /** The decoded view of a whole buffer, one char per byte, with where each byte came from. */
    static final class View {
        final StringBuilder text = new StringBuilder();
        final List<Integer> start = new ArrayList<>();
        final List<Integer> end = new ArrayList<>();
        private int gap;
        private boolean separated = true;

        static View of(byte[] b) {
            View w = new View();
            String s = latin1(b);
            int i = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                java.util.regex.Matcher m;
                if (s.startsWith("'\\''", i)) {
                    w.put("'", i, i + 4);
                    i += 4;
                } else if (s.startsWith("'\"'\"'", i)) {
                    w.put("'", i, i + 5);
                    i += 5;
                } else if ((m = SURROGATES.matcher(s).region(i, s.length())).lookingAt()) {
                    int hi = Integer.parseInt(m.group(1), 16);
                    int lo = Integer.parseInt(m.group(2), 16);
                    w.put(new String(Character.toChars(Character.toCodePoint((char) hi, (char) lo)))
                            , i, i + 12);
                    i += 12;
                } else if ((m = UNICODE.matcher(s).region(i, s.length())).lookingAt()
                        && !Character.isSurrogate((char) Integer.parseInt(m.group(1), 16))) {
                    w.put(String.valueOf((char) Integer.parseInt(m.group(1), 16)), i, i + 6);
                    i += 6;
                } else if ((m = PERCENT.matcher(s).region(i, s.length())).lookingAt()) {
                    w.putByte(Integer.parseInt(m.group(1), 16), i, i + 3);
                    i += 3;
                } else if (c == '\\' && i + 1 < s.length() && s.charAt(i + 1) != 'u') {
                    char e = s.charAt(i + 1);
                    int d = switch (e) {
                        case 'n' -> '\n';
                        case 't' -> '\t';
                        case 'r' -> '\r';
                        case 'b' -> '\b';
                        case 'f' -> '\f';
                        default -> e;
                    };
                    w.putByte(d, i, i + 2);
                    i += 2;
                } else {
                    w.putByte(c, i, i + 1);
                    i++;
                }
            }
            return w;
        }

        private static final java.util.regex.Pattern SURROGATES = java.util.regex.Pattern.compile(
                "\\\\u([dD][89abAB][0-9a-fA-F]{2})\\\\u([dD][c-fC-F][0-9a-fA-F]{2})");
        private static final java.util.regex.Pattern UNICODE =
                java.util.regex.Pattern.compile("\\\\u([0-9a-fA-F]{4})");
        private static final java.util.regex.Pattern PERCENT =
                java.util.regex.Pattern.compile("%([0-9a-fA-F]{2})");

        /** A character: its UTF-8 bytes, all from [from, to). */
        private void put(String ch, int from, int to) {
            byte[] utf8 = ch.getBytes(StandardCharsets.UTF_8);
            if (utf8.length == 1) {
                putByte(utf8[0] & 0xFF, from, to);
                return;
            }
            for (byte x : utf8) {
                text.append((char) (x & 0xFF));
                start.add(from);
                end.add(to);
            }
            gap = 0;
            separated = false;
        }

        private void putByte(int x, int from, int to) {
            if (SecretPatterns.leftOut(x)) {
                gap++;   // a byte of the view, however it was written
                if (gap > EscapeView.MAX_GAP && !separated) {
                    separated = true;
                    text.append(' ');
                    start.add(to);
                    end.add(to);
                }
                return;
            }
            text.append((char) x);
            start.add(from);
            end.add(to);
            gap = 0;
            separated = false;
        }
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

    /**
     * Fails, naming only the index, if {@code haystack} contains a raw pattern or its decoded view
     * a decoded form.
     */
    void assertNothingLeft(byte[] haystack, String context) {
        assertNoPattern(haystack, List.copyOf(rawName.keySet()), context + " raw");
        assertNoPattern(latin1(View.of(haystack).text.toString()),
                List.copyOf(decodedName.keySet()), context + " decoded view");
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

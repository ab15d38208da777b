package dev.brokerctl.daemon.mask;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Property tests of the masker on the forms tools print (the fuzzing of issue 13 as plain JUnit):
 * random values, each form generated with random choices (wrap width, line ending, grouping, hex
 * case, which characters an encoder left raw), random chunkings.
 */
class MaskerPropertyTest {

    /** The gate forced on for any decoded form, and off. */
    static final int[] GATED = {8, Integer.MAX_VALUE};

    private static final String ALNUM =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final String RESERVED = "/:@!$&'()*+,;=?#[]";
    private static final String SHELL_SPECIAL = " '\"\\$`&;|<>(){}*?[]!#~=%";

    /** A form of {@code v} as some tool prints it; null if that tool cannot print this value. */
    static byte[] randomForm(Random rnd, byte[] v, int kind) {
        return switch (kind) {
            case 0 -> wrapped(rnd, base64(rnd, v));
            case 1 -> hexGrouped(rnd, v);
            case 2 -> percent(rnd, v);
            case 3 -> jsonEscapes(rnd, v);
            case 4 -> shellSingleQuoted(rnd, v);
            default -> printfQ(v);
        };
    }

    static final int KINDS = 6;

    /**
     * {@code n} scaled by {@code -Dbrokerctl.mask.testScale} (percent, default 100): the mutation
     * tests run these loops at 10 % per mutant (broker-daemon/pom.xml), the build at full size.
     */
    static int cases(int n) {
        return Math.max(1, n * Integer.getInteger("brokerctl.mask.testScale", 100) / 100);
    }

    private static byte[] base64(Random rnd, byte[] v) {
        // As it is: the value alone, so the whole output is fixed by it.
        return (rnd.nextBoolean() ? Base64.getEncoder() : Base64.getUrlEncoder()).encode(v);
    }

    private static byte[] wrapped(Random rnd, byte[] text) {
        int width = rnd.nextBoolean() ? new int[] {76, 64, 60}[rnd.nextInt(3)] : 1 + rnd.nextInt(80);
        String eol = rnd.nextInt(4) == 0 ? "\r\n" : "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < text.length; i += width) {
            if (i > 0) {
                out.writeBytes(eol.getBytes(StandardCharsets.US_ASCII));
            }
            out.write(text, i, Math.min(width, text.length - i));
        }
        return out.toByteArray();
    }

    /** xxd -p (lines of 30 bytes), od -An -tx1 (" xx" each, 16 a line) and other groupings. */
    private static byte[] hexGrouped(Random rnd, byte[] v) {
        String digits = rnd.nextBoolean() ? "0123456789abcdef" : "0123456789ABCDEF";
        int group = new int[] {1, 2, 4, 8}[rnd.nextInt(4)];
        int line = new int[] {16, 30, 32, 8}[rnd.nextInt(4)];
        boolean od = rnd.nextBoolean();
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            if (i > 0 && i % line == 0) {
                s.append('\n');
            }
            if (od && (i % group == 0)) {
                s.append(' ');
            }
            s.append(digits.charAt((v[i] >> 4) & 0xF)).append(digits.charAt(v[i] & 0xF));
        }
        return s.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] percent(Random rnd, byte[] v) {
        boolean plus = rnd.nextBoolean();
        StringBuilder s = new StringBuilder();
        for (byte b : v) {
            char c = (char) (b & 0xFF);
            boolean unreserved = c < 128 && (ALNUM.indexOf(c) >= 0 || "-._~".indexOf(c) >= 0);
            if (unreserved || c < 128 && RESERVED.indexOf(c) >= 0 && c != '%' && c != '+'
                    && rnd.nextBoolean()) {
                s.append(c);
            } else if (c == ' ' && plus) {
                s.append('+');
            } else {
                String hex = String.format("%%%02X", b & 0xFF);
                s.append(rnd.nextBoolean() ? hex : hex.toLowerCase());
            }
        }
        return s.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** JSON/JS/Go string body: each character raw or as \\uXXXX (either case) at random. */
    private static byte[] jsonEscapes(Random rnd, byte[] v) {
        String text = utf8(v);
        if (text == null) {
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        text.codePoints().forEach(cp -> {
            boolean mustEscape = cp < 0x20 || cp == '"' || cp == '\\';
            if (!mustEscape && rnd.nextBoolean()) {
                out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
                return;
            }
            String esc = switch (cp) {
                case '\n' -> "\\n";
                case '"' -> "\\\"";
                case '\\' -> "\\\\";
                default -> null;
            };
            if (esc == null || rnd.nextBoolean()) {
                StringBuilder u = new StringBuilder();
                for (char ch : Character.toChars(cp)) {
                    String h = String.format("\\u%04x", (int) ch);
                    u.append(rnd.nextBoolean() ? h : h.toUpperCase().replace("\\U", "\\u"));
                }
                esc = u.toString();
            }
            out.writeBytes(esc.getBytes(StandardCharsets.US_ASCII));
        });
        return out.toByteArray();
    }

    private static byte[] shellSingleQuoted(Random rnd, byte[] v) {
        String q = rnd.nextBoolean() ? "'\\''" : "'\"'\"'";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write('\'');
        for (byte b : v) {
            if (b == '\'') {
                out.writeBytes(q.getBytes(StandardCharsets.US_ASCII));
            } else {
                out.write(b);
            }
        }
        out.write('\'');
        return out.toByteArray();
    }

    /** bash printf %q for printable values: a backslash before each special character. */
    private static byte[] printfQ(byte[] v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte b : v) {
            if (b >= 0 && b < 0x20) {
                return null;
            }
            if (b >= 0 && SHELL_SPECIAL.indexOf(b) >= 0) {
                out.write('\\');
            }
            out.write(b);
        }
        return out.toByteArray();
    }

    private static String utf8(byte[] v) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(v)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    static byte[] randomValue(Random rnd) {
        int len = 8 + rnd.nextInt(rnd.nextBoolean() ? 24 : 120);
        return switch (rnd.nextInt(4)) {
            case 0 -> fromAlphabet(rnd, len, ALNUM);
            case 1 -> fromAlphabet(rnd, len, ALNUM + RESERVED + " \"\\%-._~");
            case 2 -> (fromAlphabet(rnd, len / 2 + 4, ALNUM + " &/")
                    + "äü€😀".repeat(1 + rnd.nextInt(3))).getBytes(StandardCharsets.UTF_8);
            default -> {
                byte[] b = new byte[len];
                rnd.nextBytes(b);
                yield b;
            }
        };
    }

    private static byte[] fromAlphabet(Random rnd, int len, String alphabet) {
        return fromAlphabetString(rnd, len, alphabet).getBytes(StandardCharsets.UTF_8);
    }

    private static String fromAlphabetString(Random rnd, int len, String alphabet) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < len; i++) {
            s.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
        }
        return s.toString();
    }

    private static final byte[] OPEN = "\n<<".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = ">>\n".getBytes(StandardCharsets.US_ASCII);

    /**
     * Each generated form, set apart in filler, leaves only the replacement and what the form
     * puts around the value (quotes) in batch output and in output streamed in random chunks.
     */
    @Test
    void everyGeneratedForm_isMasked_inBatchAndAnyChunking() throws IOException {
        int checked = 0;
        for (int iter = 0; iter < cases(3000); iter++) {
            long seed = 0xF0_0000L + iter;
            Random rnd = new Random(seed);
            byte[] v = randomValue(rnd);
            int kind = rnd.nextInt(KINDS);
            byte[] form = randomForm(rnd, v, kind);
            if (form == null || visible(v) < 8 || kind == 3 && readsAsPercentEscape(v)
                    || leftOutRun(v) > EscapeView.MAX_GAP || readsShort(form, kind)) {
                // The view decodes every escape family at once: a literal %41 left raw inside a
                // JSON string whose other characters are escaped reads as 'A'; a run of more than
                // MAX_GAP left-out bytes in the value ends a match; a form that reads as fewer
                // than 8 bytes is matched raw only (known limits, threat model).
                continue;
            }
            Map<String, byte[]> secrets = new LinkedHashMap<>();
            secrets.put("V", v);
            secrets.put("W", randomValue(rnd));
            // Half with the gate forced on (any stride), half without it: the same result.
            Masker m = Masker.compile(secrets, GATED[iter % 2]);
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            text.writeBytes(filler(rnd));
            text.writeBytes(OPEN);
            text.writeBytes(form);
            text.writeBytes(CLOSE);
            text.writeBytes(filler(rnd));
            byte[] input = text.toByteArray();
            byte[] batch = m.maskAll(input);
            assertOnlyReplacementBetweenMarkers(batch, "seed=" + seed + " kind=" + kind);
            byte[] streamed = MaskerPropertyTest.streamed(m, input, rnd);
            NaiveMasker.assertSameBytes(batch, streamed, "seed=" + seed + " streamed vs batch");
            checked++;
        }
        assertTrue(checked > cases(3000) * 2 / 3, "only " + checked + " cases ran");
    }

    /** Streamed output equals batch output equals the brute-force oracle, on mixed texts. */
    @Test
    void streamedEqualsBatchEqualsOracle_onGeneratedForms() throws IOException {
        for (int iter = 0; iter < cases(2000); iter++) {
            long seed = 0xABC_0000L + iter;
            Random rnd = new Random(seed);
            Map<String, byte[]> secrets = new LinkedHashMap<>();
            int count = 1 + rnd.nextInt(3);
            for (int i = 0; i < count; i++) {
                secrets.put("S" + i, randomValue(rnd));
            }
            if (rnd.nextInt(4) == 0) {
                secrets.put("SHORT", fromAlphabet(rnd, 4 + rnd.nextInt(4), "ab%\\ "));
            }
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            int pieces = 1 + rnd.nextInt(6);
            for (int p = 0; p < pieces; p++) {
                byte[] v = secrets.values().toArray(new byte[0][])[rnd.nextInt(secrets.size())];
                byte[] form = randomForm(rnd, v, rnd.nextInt(KINDS));
                text.writeBytes(filler(rnd));
                if (form != null) {
                    // Whole, or cut short: a near-match must be let through unchanged.
                    text.write(form, 0, rnd.nextInt(4) == 0 ? rnd.nextInt(form.length) : form.length);
                }
            }
            byte[] input = text.toByteArray();
            // Half with the gate forced on (any stride), half without it: the same result.
            Masker m = Masker.compile(secrets, GATED[iter % 2]);
            NaiveMasker naive = new NaiveMasker(secrets);
            byte[] expected = naive.mask(input);
            String ctx = "seed=" + seed;
            NaiveMasker.assertSameBytes(expected, m.maskAll(input), ctx + " batch vs oracle");
            NaiveMasker.assertSameBytes(expected, streamed(m, input, rnd), ctx + " streamed vs oracle");
        }
    }

    static byte[] streamed(Masker m, byte[] input, Random rnd) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        MaskingOutputStream s = m.wrap(out);
        int max = new int[] {1, 3, 17, 500}[rnd.nextInt(4)];
        for (int at = 0; at < input.length; ) {
            int n = Math.min(input.length - at, 1 + rnd.nextInt(max));
            s.write(input, at, n);
            at += n;
        }
        s.finish();
        return out.toByteArray();
    }

    static boolean readsAsPercentEscape(byte[] v) {
        return new String(v, StandardCharsets.ISO_8859_1).matches("(?s).*%[0-9a-fA-F]{2}.*");
    }

    /**
     * True if the form reads as fewer than {@link SecretPatterns#MIN_ENCODED} bytes in the view,
     * its quotes (kind 4) not counted: backslashes collapse in shell quotes ({@code '\\'} reads
     * as one), so a short value's quoted form may.
     */
    static boolean readsShort(byte[] form, int kind) {
        return EscapeView.decodeWhole(form).length < SecretPatterns.MIN_ENCODED + (kind == 4 ? 2 : 0);
    }

    /** The longest run of space, tab, CR, LF and '+' in v. */
    static int leftOutRun(byte[] v) {
        int longest = 0;
        int run = 0;
        for (byte b : v) {
            run = " \t\r\n+".indexOf(b) >= 0 ? run + 1 : 0;
            longest = Math.max(longest, run);
        }
        return longest;
    }

    /** Bytes of v other than space, tab, CR, LF and '+' (what the decoded view keeps). */
    static int visible(byte[] v) {
        int n = 0;
        for (byte b : v) {
            n += " \t\r\n+".indexOf(b) >= 0 ? 0 : 1;
        }
        return n;
    }

    private static byte[] filler(Random rnd) {
        String[] words = {"INFO", "token", "=", " ", "\n", "ok", "id", "%", "\\", "'", "ab", "0f"};
        StringBuilder s = new StringBuilder();
        int n = rnd.nextInt(12);
        for (int i = 0; i < n; i++) {
            s.append(words[rnd.nextInt(words.length)]);
        }
        s.append(' ');
        return s.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Whitespace and '+' written as escapes: left out of the view like written whitespace, so
     * kept around a match as breaks are (a value's trailing newlines stay, JSON-escaped).
     */
    private static final java.util.regex.Pattern ESCAPED_BREAK = java.util.regex.Pattern.compile(
            "\\\\u00(?:0[9aAdD]|20|2[bB])|\\\\[ntr]|%(?:0[9aAdD]|20|2[bB])|\\+");

    /**
     * Between OPEN and CLOSE: replacements, quotes, whitespace written or escaped, and at most 6
     * other bytes (base64 edges).
     */
    static void assertOnlyReplacementBetweenMarkers(byte[] out, String ctx) {
        String s = new String(out, StandardCharsets.ISO_8859_1);
        int from = s.indexOf("\n<<");
        int to = s.lastIndexOf(">>\n");
        if (from < 0 || to < from) {
            fail(ctx + ": markers gone");
        }
        String inside = s.substring(from + 3, to);
        assertTrue(inside.contains("[MASKED:V]"), ctx + ": not masked");
        String rest = ESCAPED_BREAK.matcher(inside.replaceAll("\\[MASKED:[VW]\\]", "")).replaceAll("")
                .replaceAll("[\\s'\"$]", "");
        assertTrue(rest.length() <= 6, ctx + ": " + rest.length() + " bytes of the form left");
        assertEquals(-1, inside.indexOf("<<"), ctx);
    }
}

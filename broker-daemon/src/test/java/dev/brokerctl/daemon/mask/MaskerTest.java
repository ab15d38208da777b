package dev.brokerctl.daemon.mask;

import static dev.brokerctl.daemon.mask.NaiveMasker.assertOutput;
import static dev.brokerctl.daemon.mask.NaiveMasker.latin1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Behaviour of {@link Masker} on whole buffers. Secret values are canaries, and no assertion
 * prints them: output is compared with {@link NaiveMasker#assertOutput}, which reports only
 * where it differs.
 */
class MaskerTest {

    private static final String CANARY = "Zq7-canary-Tk9w2";

    private static Masker masker(String... namesAndValues) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            m.put(namesAndValues[i], latin1(namesAndValues[i + 1]));
        }
        return Masker.compile(m);
    }

    private static String mask(Masker m, String text) {
        return latin1(m.maskAll(latin1(text)));
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(latin1(s));
    }

    @Test
    void rawValue_isMasked() {
        assertOutput("token=[MASKED:TOKEN] ok", mask(masker("TOKEN", CANARY), "token=" + CANARY + " ok"));
    }

    @Test
    void eachLineOfMultiLineValue_isMasked() {
        Masker m = masker("KEY", "-----BEGIN-----\r\nAAAAbbbbCCCC\nshort\n");
        assertOutput("x [MASKED:KEY] y [MASKED:KEY] z", mask(m, "x AAAAbbbbCCCC y -----BEGIN----- z"));
        // Whitespace around a value is kept (the decoded stage matches it without its breaks).
        assertOutput("[MASKED:KEY]\n", mask(m, "-----BEGIN-----\r\nAAAAbbbbCCCC\nshort\n"));
    }

    /** What `printf %s "$V" | base64`, `printf 'x%s' ...` and `printf 'xy%s' ...` print. */
    /**
     * A run of whitespace in the value counts as the view reads it, not as it was written: three
     * spaces percent-encoded are nine bytes, and were a separator that left the whole value
     * unmasked (a fuzzing finding); so were five newlines JSON-escaped. Nine in a row still end a
     * match, as nine written spaces do.
     */
    @Test
    void aValueWithWhitespaceRuns_isMaskedPercentEncodedAndEscaped() {
        Masker m = masker("V", "correct   horse\n\n\n\n\nbattery staple");
        assertOutput("q=[MASKED:V]&x", mask(m, "q=correct%20%20%20horse%0A%0A%0A%0A%0Abattery%20staple&x"));
        assertOutput("{\"v\":\"[MASKED:V]\"}", mask(m, "{\"v\":\"correct   horse\\n\\n\\n\\n\\nbattery staple\"}"));
        Masker far = masker("W", "correct         horse-battery");
        String nine = "correct%20%20%20%20%20%20%20%20%20horse-battery";
        assertOutput(nine, mask(far, nine));
    }

    /**
     * Inside shell single quotes a backslash is literal, but the view reads it with the byte
     * after it: a value with a backslash before a quote, or ending in one, read differently
     * quoted than bare, and was left unmasked (a fuzzing finding). Both ways of quoting a quote.
     */
    @Test
    void aValueWithBackslashesBeforeQuotes_isMaskedShellSingleQuoted() {
        Masker m = masker("V", "s3cr3t\\'x-long\\");
        assertOutput("v='[MASKED:V]\\' ok", mask(m, "v='s3cr3t\\'\\''x-long\\' ok"));
        assertOutput("v='[MASKED:V]\\' ok", mask(m, "v='s3cr3t\\'\"'\"'x-long\\' ok"));
    }

    @Test
    void base64OfValueAtEachAlignment_isMaskedIncludingPadding() {
        Masker m = masker("V", CANARY);
        assertOutput("[MASKED:V]\n", mask(m, b64(CANARY) + "\n"));
        String x = b64("x" + CANARY);
        assertOutput(x.substring(0, 2) + "[MASKED:V]\n", mask(m, x + "\n"));
        String xy = b64("xy" + CANARY);
        assertOutput(xy.substring(0, 3) + "[MASKED:V]\n", mask(m, xy + "\n"));
    }

    @Test
    void base64OfValueInsideLongerInput_isMaskedAtEachAlignment() {
        Masker m = masker("V", CANARY);
        int[] drop = {0, 2, 3};
        for (String prefix : List.of("", "x", "xy", "xyz", "wxyz")) {
            int k = prefix.length() % 3;
            // 0xFF neighbours differ from zero fill, so exactly the characters whose six bits all
            // come from the value are masked: from drop[k] to floor(8 * (k + n) / 6).
            String whole = b64(prefix + CANARY + "\u00ff\u00ff\u00ff");
            int from = 4 * (prefix.length() / 3) + drop[k];
            int to = 4 * (prefix.length() / 3) + 8 * (k + CANARY.length()) / 6;
            assertOutput(whole.substring(0, from) + "[MASKED:V]" + whole.substring(to),
                    mask(m, whole), "prefix of " + prefix.length() + " bytes");
        }
    }

    @Test
    void urlSafeBase64_withAndWithoutPadding_isMasked() {
        String v = "\u00fb\u00ff\u00fe-needs-url-safe";
        Masker m = masker("V", v);
        for (int k = 0; k < 3; k++) {
            String prefix = "ab".substring(0, k);
            String padded = Base64.getUrlEncoder().encodeToString(latin1(prefix + v));
            assertTrue(padded.contains("-") || padded.contains("_"));
            assertTrue(mask(m, padded).endsWith("[MASKED:V]"), "offset " + k);
            String bare = Base64.getUrlEncoder().withoutPadding().encodeToString(latin1(prefix + v));
            assertTrue(mask(m, bare).endsWith("[MASKED:V]"), "unpadded offset " + k);
        }
    }

    @Test
    void hexLowerAndUpper_areMasked() {
        Masker m = masker("V", CANARY);
        String hex = HexFormat.of().formatHex(latin1(CANARY));
        assertOutput("[MASKED:V] [MASKED:V]", mask(m, hex + " " + hex.toUpperCase()));
    }

    @Test
    void percentEncodedValue_isMaskedInBothHexCases() {
        Masker m = masker("V", "p@ss w/rd:%+~.-_9");
        assertOutput("q=[MASKED:V]&r=[MASKED:V]",
                mask(m, "q=p%40ss%20w%2Frd%3A%25%2B~.-_9&r=p%40ss%20w%2frd%3a%25%2b~.-_9"));
    }

    @Test
    void jsonEscapedValue_isMasked() {
        String v = "line1\n\"quoted\"\\tab\t/\u0002";
        Masker m = masker("V", v);
        String json = "{\"k\":\"line1\\n\\\"quoted\\\"\\\\tab\\t/\\u0002\"}";
        assertOutput("{\"k\":\"[MASKED:V]\"}", mask(m, json));
        assertOutput("{\"k\":\"[MASKED:V]\"}", mask(m, json.replace("/", "\\/")));
    }

    @Test
    void valueUnderFourBytes_isNotMasked_andIsReported() {
        Masker m = masker("PIN", "123", "EMPTY", "", "TOKEN", CANARY);
        assertEquals(List.of("EMPTY", "PIN"), m.unmaskedShortValueNames());
        assertOutput("pin 123 [MASKED:TOKEN]", mask(m, "pin 123 " + CANARY));
    }

    @Test
    void valueOfFourToSevenBytes_isMaskedRawOnly() {
        Masker m = masker("PW", "hunt2");
        assertEquals(1, m.patternCount());
        String hex = HexFormat.of().formatHex(latin1("hunt2"));
        assertOutput("[MASKED:PW] " + hex, mask(m, "hunt2 " + hex));
    }

    @Test
    void encodedVariantEqualToRawValue_isRegisteredOnce() {
        // Alphanumeric: percent and JSON forms equal the raw value.
        Masker m = masker("V", "abcdefgh12");
        int expected = new NaiveMasker(Map.of("V", latin1("abcdefgh12"))).patternCount();
        assertEquals(expected, m.patternCount());
        assertTrue(expected < 1 + SecretPatterns.decodedForms(latin1("abcdefgh12")).size());
    }

    @Test
    void valueThatIsPrefixOfAnother_longestWins() {
        Masker m = masker("SHORT", "abcdefgh", "LONG", "abcdefghijkl");
        assertOutput("[MASKED:LONG] [MASKED:SHORT]ijk", mask(m, "abcdefghijkl abcdefghijk"));
    }

    @Test
    void valueThatIsSuffixOrSubstringOfAnother_leftmostWins() {
        Masker m = masker("OUTER", "0123456789abcdef", "SUFFIX", "89abcdef", "INNER", "45678");
        assertOutput("[MASKED:OUTER]", mask(m, "0123456789abcdef"));
        // Values of 8+ bytes are matched (decoded stage) before raw-only ones of 4 to 7 bytes.
        assertOutput("4567[MASKED:SUFFIX]", mask(m, "456789abcdef"));
        assertOutput("x[MASKED:SUFFIX]", mask(m, "x89abcdef"));
    }

    @Test
    void overlappingOccurrences_leftmostIsReplacedFirst() {
        Masker m = masker("A", "abcdefgh", "B", "ghijklmn");
        assertOutput("[MASKED:A]ijklmn", mask(m, "abcdefghijklmn"));
    }

    @Test
    void sameValueUnderTwoNames_isAttributedToFirstNameInOrder() {
        Masker m = masker("ZED", CANARY, "ALPHA", CANARY);
        assertOutput("[MASKED:ALPHA]", mask(m, CANARY));
        assertEquals(new NaiveMasker(Map.of("V", latin1(CANARY))).patternCount(), m.patternCount());
    }

    @Test
    void rawPatternOfOneName_beatsEncodedPatternOfAnother() {
        String v = "Secret!!";
        String hex = HexFormat.of().formatHex(latin1(v));
        Masker m = masker("A_HEXED", v, "Z_RAW", hex);
        assertOutput("[MASKED:Z_RAW]", mask(m, hex));
    }

    @Test
    void valueContainingNewlines_isMaskedAcrossThem() {
        Masker m = masker("CERT", "first-line\nsecond-line");
        assertOutput("a [MASKED:CERT] b", mask(m, "a first-line\nsecond-line b"));
    }

    @Test
    void replacementAtVeryStartAndEnd_ofStream() {
        Masker m = masker("V", CANARY);
        assertOutput("[MASKED:V]", mask(m, CANARY));
        assertOutput("[MASKED:V][MASKED:V]", mask(m, CANARY + CANARY));
        assertOutput("[MASKED:V] mid [MASKED:V]", mask(m, CANARY + " mid " + CANARY));
    }

    @Test
    void noSecrets_passesBytesThrough() throws IOException {
        Masker m = Masker.compile(Map.of());
        assertEquals(0, m.patternCount());
        assertEquals(0, m.longestPattern());
        assertOutput("anything", mask(m, "anything"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        MaskingOutputStream s = m.wrap(out);
        s.write(latin1("abc"));
        assertEquals(0, s.pendingBytes());
        assertOutput("abc", out.toString(StandardCharsets.ISO_8859_1));
    }

    @Test
    void longestPattern_isLongestRegisteredForm() {
        Masker m = masker("V", "a/b/c/d/");
        int longest = 0;
        for (byte[] p : SecretPatterns.decodedForms(latin1("a/b/c/d/"))) {
            longest = Math.max(longest, p.length);
        }
        assertEquals(longest, m.longestPattern());
        assertEquals("a/b/c/d/".length() + EscapeView.holdBack(longest), m.holdBackBound());
    }

    @Test
    void toString_ofMaskerAndStream_neverContainsValueOrPattern() throws IOException {
        Masker m = masker("CANARY_NAME", CANARY);
        MaskingOutputStream s = m.wrap(new ByteArrayOutputStream());
        s.write(latin1(CANARY.substring(0, 10)));
        for (String text : List.of(m.toString(), s.toString())) {
            assertFalse(text.contains(CANARY), "value in toString");
            for (String p : new NaiveMasker(Map.of("CANARY_NAME", latin1(CANARY))).patterns()) {
                assertFalse(text.contains(p), "pattern in toString");
            }
            assertFalse(text.contains(CANARY.substring(0, 6)), "held-back bytes in toString");
        }
    }

    @Test
    void destroy_zeroesAutomaton_andRejectsFurtherUse() throws IOException {
        Masker m = masker("V", CANARY);
        MaskingOutputStream s = m.wrap(new ByteArrayOutputStream());
        m.destroy();
        m.destroy();
        for (Automaton a : List.of(m.raw, m.decoded)) {
            for (byte b : a.edgeLabel) {
                assertEquals(0, b);
            }
            assertTrue(java.util.Arrays.stream(a.delta).allMatch(x -> x == 0));
        }
        assertThrows(IllegalStateException.class, () -> m.wrap(new ByteArrayOutputStream()));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.write(1));
        assertFalse(e.getMessage().contains(CANARY));
    }

    @Test
    void nullNameOrValue_isRejected() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("V", null);
        assertThrows(NullPointerException.class, () -> Masker.compile(m));
    }
}

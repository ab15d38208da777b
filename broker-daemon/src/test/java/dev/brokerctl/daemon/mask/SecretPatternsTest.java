package dev.brokerctl.daemon.mask;

import static dev.brokerctl.daemon.mask.NaiveMasker.latin1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Known-answer vectors for the pattern variants. Expected strings were produced with coreutils
 * {@code base64}/{@code xxd} and Python's {@code urllib.parse.quote} and {@code json.dumps}, not
 * with this code. The values are canaries; messages never print them.
 */
class SecretPatternsTest {

    private static final String V = "Zq7-canary-Tk9w2";

    private static Set<String> encodings(String value) {
        Set<String> out = new TreeSet<>();
        for (byte[] p : SecretPatterns.encodings(latin1(value))) {
            out.add(latin1(p));
        }
        return out;
    }

    private static void assertHas(Set<String> patterns, String expected, String what) {
        assertTrue(patterns.contains(expected), "missing " + what + " pattern");
    }

    @Test
    void base64AtEachAlignment_keepsOnlyCharactersFixedByTheValue() {
        Set<String> p = encodings(V);
        // printf %s "$V" | base64  ->  WnE3LWNhbmFyeS1Uazl3Mg==
        assertHas(p, "WnE3LWNhbmFyeS1Uazl3M", "offset 0 mid-stream");
        assertHas(p, "WnE3LWNhbmFyeS1Uazl3Mg", "offset 0 at end");
        assertHas(p, "WnE3LWNhbmFyeS1Uazl3Mg==", "offset 0 padded");
        // printf 'x%s' "$V" | base64  ->  eFpxNy1jYW5hcnktVGs5dzI=  ("eF" carries bits of x)
        assertHas(p, "pxNy1jYW5hcnktVGs5dz", "offset 1 mid-stream");
        assertHas(p, "pxNy1jYW5hcnktVGs5dzI=", "offset 1 padded");
        // printf 'xy%s' "$V" | base64  ->  eHlacTctY2FuYXJ5LVRrOXcy  ("eHl" carries bits of xy)
        assertHas(p, "acTctY2FuYXJ5LVRrOXcy", "offset 2");
    }

    @Test
    void base64Variants_occurInEncodingOfValueWithAnyNeighbours() {
        long seed = 20240501L;
        Random rnd = new Random(seed);
        for (int iter = 0; iter < MaskerPropertyTest.cases(500); iter++) {
            byte[] value = randomBytes(rnd, 8 + rnd.nextInt(60));
            byte[] prefix = randomBytes(rnd, rnd.nextInt(8));
            byte[] suffix = randomBytes(rnd, rnd.nextInt(8));
            byte[] whole = concat(prefix, value, suffix);
            List<byte[]> variants = SecretPatterns.encodings(value);
            for (Base64.Encoder enc : List.of(Base64.getEncoder(), Base64.getUrlEncoder(),
                    Base64.getUrlEncoder().withoutPadding())) {
                String encoded = latin1(enc.encode(whole));
                boolean found = variants.stream().anyMatch(v -> encoded.contains(latin1(v)));
                assertTrue(found, "seed=" + seed + " iter=" + iter + ": no base64 variant in "
                        + "encoding with prefix of " + prefix.length + " bytes");
            }
        }
    }

    @Test
    void hex_lowerAndUpper() {
        Set<String> p = encodings(V);
        assertHas(p, "5a71372d63616e6172792d546b397732", "hex lower");
        assertHas(p, "5A71372D63616E6172792D546B397732", "hex upper");
    }

    @Test
    void percentEncoding_encodesAllButUnreserved_inBothHexCases() {
        Set<String> p = encodings("p@ss w/rd:%+~.-_9");
        assertHas(p, "p%40ss%20w%2Frd%3A%25%2B~.-_9", "percent upper");
        assertHas(p, "p%40ss%20w%2frd%3a%25%2b~.-_9", "percent lower");
    }

    @Test
    void jsonEscape_matchesJsonDumps_andOffersSlashAndUpperHexForms() {
        Set<String> p = encodings("a\"b\\c\n\t\u0001/z\u001f");
        assertHas(p, "a\\\"b\\\\c\\n\\t\\u0001/z\\u001f", "json");
        assertHas(p, "a\\\"b\\\\c\\n\\t\\u0001\\/z\\u001f", "json with \\/");
        assertHas(p, "a\\\"b\\\\c\\n\\t\\u0001/z\\u001F", "json upper hex");
    }

    @Test
    void multiLineValue_yieldsEachLineOfFourOrMoreBytes_crlfOrLf() {
        List<byte[]> p = SecretPatterns.rawAndLines(latin1("line-one\r\nab\nline-three\n"));
        Set<String> got = new TreeSet<>();
        p.forEach(b -> got.add(latin1(b)));
        assertTrue(got.equals(Set.of("line-one\r\nab\nline-three\n", "line-one", "line-three")),
                "expected the value and its two long lines, got " + got.size() + " patterns");
    }

    @Test
    void singleLineValue_yieldsOnlyItself() {
        assertEquals(1, SecretPatterns.rawAndLines(latin1("abcd")).size());
    }

    @Test
    void valueUnderFourBytes_yieldsNothing() {
        assertTrue(SecretPatterns.all(latin1("abc")).isEmpty());
        assertTrue(SecretPatterns.all(new byte[0]).isEmpty());
    }

    @Test
    void valueOfFourToSevenBytes_yieldsRawOnly() {
        for (String v : List.of("abcd", "ab/d+f\n")) {
            assertTrue(SecretPatterns.encodings(latin1(v)).isEmpty());
        }
        assertEquals(1, SecretPatterns.all(latin1("a\"c/e+g")).size());
    }

    @Test
    void valueOfEightBytes_getsEncodings() {
        assertTrue(SecretPatterns.all(latin1("abcdefgh")).size() > 5);
    }

    static byte[] randomBytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}

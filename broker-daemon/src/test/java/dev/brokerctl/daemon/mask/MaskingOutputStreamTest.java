package dev.brokerctl.daemon.mask;

import static dev.brokerctl.daemon.mask.NaiveMasker.assertNoPattern;
import static dev.brokerctl.daemon.mask.NaiveMasker.assertOutput;
import static dev.brokerctl.daemon.mask.NaiveMasker.assertSameBytes;
import static dev.brokerctl.daemon.mask.NaiveMasker.latin1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Streaming behaviour: chunking, hold-back, EOF, bounded memory, and a randomized oracle check. */
class MaskingOutputStreamTest {

    /** The gate forced on for any decoded form, and off. */
    static final int[] GATED = {8, Integer.MAX_VALUE};

    private static final String CANARY = "Zq7-canary-Tk9w2";

    private static Masker masker(String... namesAndValues) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            m.put(namesAndValues[i], latin1(namesAndValues[i + 1]));
        }
        return Masker.compile(m);
    }

    /** Downstream that counts bytes and keeps them. */
    private static final class Sink extends ByteArrayOutputStream {
        boolean flushed;
        boolean closed;

        @Override
        public void flush() {
            flushed = true;
        }

        @Override
        public void close() {
            closed = true;
        }

        String text() {
            return toString(java.nio.charset.StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void patternSplitAcrossChunks_isMasked() throws IOException {
        Masker m = masker("V", CANARY);
        byte[] text = latin1("a " + CANARY + " b");
        for (int cut = 0; cut <= text.length; cut++) {
            Sink sink = new Sink();
            try (MaskingOutputStream s = m.wrap(sink)) {
                s.write(text, 0, cut);
                s.write(text, cut, text.length - cut);
            }
            assertOutput("a [MASKED:V] b", sink.text(), "cut at " + cut);
        }
    }

    @Test
    void oneByteWrites_giveSameOutputAsWholeBuffer() throws IOException {
        Masker m = masker("V", CANARY, "W", "other-secret-value");
        byte[] text = latin1("x" + CANARY + CANARY + "y other-secret-value" + CANARY.substring(0, 9));
        Sink sink = new Sink();
        MaskingOutputStream s = m.wrap(sink);
        for (byte b : text) {
            s.write(b);
        }
        s.finish();
        assertSameBytes(m.maskAll(text), sink.toByteArray(), "one-byte writes");
        assertEquals(3, s.maskedCount());
    }

    @Test
    void flush_doesNotReleasePossiblePatternStart_finishDoes() throws IOException {
        Masker m = masker("V", CANARY);
        Sink sink = new Sink();
        MaskingOutputStream s = m.wrap(sink);
        s.write(latin1("log: " + CANARY.substring(0, 10)));
        s.flush();
        assertTrue(sink.flushed);
        assertOutput("log: ", sink.text());
        assertEquals(10, s.pendingBytes());
        s.finish();
        assertOutput("log: " + CANARY.substring(0, 10), sink.text());
        assertEquals(0, s.pendingBytes());
        assertFalse(sink.closed, "finish must not close downstream");
    }

    @Test
    void bytesThatCannotStartAPattern_areForwardedImmediately() throws IOException {
        Masker m = masker("V", CANARY);
        Sink sink = new Sink();
        MaskingOutputStream s = m.wrap(sink);
        s.write(latin1("plain text, no secret here\n"));
        assertOutput("plain text, no secret here\n", sink.text());
    }

    @Test
    void pendingMatch_isReplacedAtEndOfStream() throws IOException {
        // The shorter value is complete, but a longer one could still follow until EOF.
        Masker m = masker("SHORT", "abcdefgh", "LONG", "abcdefghijkl");
        Sink sink = new Sink();
        MaskingOutputStream s = m.wrap(sink);
        s.write(latin1("abcdefghij"));
        assertOutput("", sink.text());
        s.close();
        assertOutput("[MASKED:SHORT]ij", sink.text());
        assertEquals(1, s.maskedCount());
        assertTrue(sink.closed);
    }

    @Test
    void finish_isIdempotent_andLaterWritesFail() throws IOException {
        MaskingOutputStream s = masker("V", CANARY).wrap(new Sink());
        s.finish();
        s.finish();
        assertThrows(IOException.class, () -> s.write(1));
    }

    @Test
    void heldBackBytes_stayUnderHoldBackBound_acrossManyBufferRefills() throws IOException {
        for (int gated : GATED) {
        long seed = 7L;
        Random rnd = new Random(seed);
        Map<String, byte[]> secrets = randomSecrets(rnd, 8);
        Masker m = Masker.compile(secrets, gated);
        Sink sink = new Sink();
        MaskingOutputStream s = m.wrap(sink);
        // Far longer than the internal buffer, so matches straddle its refills.
        byte[] text = randomText(rnd, secrets, 200_000);
        for (int at = 0; at < text.length; ) {
            int n = Math.min(text.length - at, 1 + rnd.nextInt(20_000));
            s.write(text, at, n);
            at += n;
            assertTrue(s.pendingBytes() < m.holdBackBound(),
                    "seed=" + seed + ": " + s.pendingBytes() + " bytes held back");
        }
        s.finish();
        assertEquals(0, s.pendingBytes());
        NaiveMasker naive = new NaiveMasker(secrets);
        assertSameBytes(naive.mask(text), sink.toByteArray(), "seed=" + seed);
        assertEquals(naive.count, s.maskedCount());
        assertTrue(naive.count > 100, "the text should hold many matches");
        }
    }

    @Test
    @Tag("slow") // 64 MiB: in the unit tests, not once per mutant
    void sixtyFourMebibyteStream_keepsBufferBounded() throws IOException {
        Masker m = masker("V", CANARY, "W", "second-secret-0123", "PEM", "-----K-----\nQUJD+/ZGVm\n");
        // A block with secrets in it, ending in a newline so no match spans two blocks.
        byte[] block = latin1(("2024-05-01T00:00:00Z INFO worker token=" + CANARY + " hex="
                + java.util.HexFormat.of().formatHex(latin1("second-secret-0123"))
                + " b64=" + Base64.getEncoder().encodeToString(latin1("x" + CANARY))
                + " partial=" + CANARY.substring(0, 12) + " QUJD+/ZGVm\n").repeat(50));
        NaiveMasker naive = new NaiveMasker(Map.of("V", latin1(CANARY), "W",
                latin1("second-secret-0123"), "PEM", latin1("-----K-----\nQUJD+/ZGVm\n")));
        naive.mask(block);
        long perBlock = naive.count;

        long[] forwarded = {0};
        OutputStream counter = new OutputStream() {
            @Override
            public void write(int b) {
                forwarded[0]++;
            }

            @Override
            public void write(byte[] b, int off, int len) {
                forwarded[0] += len;
            }
        };
        MaskingOutputStream s = m.wrap(counter);
        int capacity = s.bufferCapacity();
        Random rnd = new Random(64);
        long total = 64L << 20;
        long blocks = 0;
        for (long written = 0; written < total; written += block.length, blocks++) {
            for (int at = 0; at < block.length; ) {
                int n = Math.min(block.length - at, 1 + rnd.nextInt(16384));
                s.write(block, at, n);
                at += n;
                assertTrue(s.pendingBytes() < m.holdBackBound());
            }
        }
        s.finish();
        assertEquals(capacity, s.bufferCapacity());
        assertTrue(capacity <= m.holdBackBound() + 2 * m.longestPattern()
                + 3 * MaskingOutputStream.SLICE + Gate.BACK + 64);
        assertEquals(blocks * perBlock, s.maskedCount());
        assertTrue(forwarded[0] > 0);
    }

    /**
     * Random secrets (some overlapping, some short, some multi-line, some binary), random texts
     * embedding their variants and fragments, random chunkings: streamed output equals
     * {@link Masker#maskAll}, which equals the brute-force oracle, and holds no pattern.
     */
    @Test
    void randomChunkings_matchOracle_andLeaveNoPattern() throws IOException {
        for (int iter = 0; iter < MaskerPropertyTest.cases(300); iter++) {
            long seed = 0x5EED_0000L + iter;
            Random rnd = new Random(seed);
            String ctx = "seed=" + seed;
            Map<String, byte[]> secrets = randomSecrets(rnd, 1 + rnd.nextInt(5));
            // Half with the gate forced on (any stride), half without it: the same result.
            Masker m = Masker.compile(secrets, GATED[iter % 2]);
            NaiveMasker naive = new NaiveMasker(secrets);
            assertEquals(naive.patternCount(), m.patternCount(), ctx);
            byte[] text = randomText(rnd, secrets, rnd.nextInt(3000));

            byte[] expected = naive.mask(text);
            long expectedCount = naive.count;
            byte[] whole = m.maskAll(text);
            assertSameBytes(expected, whole, ctx + " maskAll vs oracle");
            // Escapes read their neighbours (a value ending in '%' before "ac" reads as %ac), so
            // "nothing left" holds for forms set apart, as output lines are; equality always.
            byte[] apart = randomText(rnd, secrets, rnd.nextInt(3000), true);
            byte[] apartMasked = m.maskAll(apart);
            assertSameBytes(naive.mask(apart), apartMasked, ctx + " apart vs oracle");
            naive.assertNothingLeft(apartMasked, ctx);

            for (int chunking = 0; chunking < 3; chunking++) {
                int maxChunk = switch (chunking) {
                    case 0 -> 1;
                    case 1 -> 1 + rnd.nextInt(8);
                    default -> 1 + rnd.nextInt(200);
                };
                Sink sink = new Sink();
                MaskingOutputStream s = m.wrap(sink);
                for (int at = 0; at < text.length; ) {
                    int n = Math.min(text.length - at, 1 + rnd.nextInt(maxChunk));
                    if (n == 1 && rnd.nextBoolean()) {
                        s.write(text[at]);
                    } else {
                        s.write(text, at, n);
                    }
                    at += n;
                    if (rnd.nextInt(10) == 0) {
                        s.flush();
                    }
                    assertTrue(s.pendingBytes() < m.holdBackBound(), ctx);
                }
                s.finish();
                assertSameBytes(expected, sink.toByteArray(), ctx + " chunks<=" + maxChunk);
                assertEquals(expectedCount, s.maskedCount(), ctx + " count");
            }
        }
    }

    // ---- random inputs ----

    private static final String ALNUM =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /** Secrets drawn from alphabets that make overlaps and encodings interesting. */
    static Map<String, byte[]> randomSecrets(Random rnd, int count) {
        Map<String, byte[]> secrets = new LinkedHashMap<>();
        List<byte[]> made = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] v;
            int kind = rnd.nextInt(6);
            if (kind == 5 && !made.isEmpty()) {
                // A prefix, suffix or substring of an earlier value, or the same value.
                byte[] base = made.get(rnd.nextInt(made.size()));
                int from = rnd.nextInt(base.length / 2 + 1);
                int to = from + rnd.nextInt(base.length - from + 1);
                v = java.util.Arrays.copyOfRange(base, from, to);
            } else {
                int len = switch (rnd.nextInt(4)) {
                    case 0 -> rnd.nextInt(8);
                    case 1 -> 8 + rnd.nextInt(8);
                    default -> 8 + rnd.nextInt(40);
                };
                v = new byte[len];
                for (int j = 0; j < len; j++) {
                    v[j] = switch (kind) {
                        case 0 -> (byte) ALNUM.charAt(rnd.nextInt(ALNUM.length()));
                        case 1 -> (byte) rnd.nextInt(256);
                        case 2 -> (byte) "ab".charAt(rnd.nextInt(2));
                        case 3 -> (byte) "ab\n\r\"\\/ %+=".charAt(rnd.nextInt(11));
                        default -> (byte) "abc".charAt(rnd.nextInt(3));
                    };
                }
            }
            made.add(v);
            secrets.put("S" + i, v);
        }
        return secrets;
    }

    /** Filler with whole variants, variants at odd base64 alignments, and fragments of them. */
    static byte[] randomText(Random rnd, Map<String, byte[]> secrets, int approxLength) {
        return randomText(rnd, secrets, approxLength, false);
    }

    /** With {@code apart}, a newline before and after each piece. */
    static byte[] randomText(Random rnd, Map<String, byte[]> secrets, int approxLength,
            boolean apart) {
        List<byte[]> values = new ArrayList<>(secrets.values());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (out.size() < approxLength) {
            if (apart) {
                out.write('\n');
            }
            byte[] v = values.get(rnd.nextInt(values.size()));
            List<byte[]> variants = SecretPatterns.all(v);
            switch (rnd.nextInt(7)) {
                case 0, 1 -> {
                    int n = rnd.nextInt(20);
                    for (int j = 0; j < n; j++) {
                        out.write(rnd.nextInt(4) == 0 ? rnd.nextInt(256) : "abc =\n".charAt(rnd.nextInt(6)));
                    }
                }
                case 2 -> out.writeBytes(v);
                case 3 -> {
                    if (!variants.isEmpty()) {
                        out.writeBytes(variants.get(rnd.nextInt(variants.size())));
                    }
                }
                case 4 -> {
                    byte[] prefixed = SecretPatternsTest.concat(
                            SecretPatternsTest.randomBytes(rnd, rnd.nextInt(3)), v,
                            SecretPatternsTest.randomBytes(rnd, rnd.nextInt(3)));
                    out.writeBytes((rnd.nextBoolean() ? Base64.getEncoder() : Base64.getUrlEncoder())
                            .encode(prefixed));
                }
                case 5 -> {
                    if (!variants.isEmpty()) {
                        byte[] p = variants.get(rnd.nextInt(variants.size()));
                        out.write(p, 0, rnd.nextInt(p.length));
                    }
                }
                default -> out.write(v, 0, rnd.nextInt(v.length + 1));
            }
            if (apart) {
                out.write('\n');
            }
        }
        return out.toByteArray();
    }
}

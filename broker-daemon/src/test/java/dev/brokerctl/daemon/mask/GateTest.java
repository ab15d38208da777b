package dev.brokerctl.daemon.mask;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The gate never lets a decoded match through: its output is the ungated decoded stage's, byte
 * for byte, on text built to hit its edges, and it reads escapes exactly as the decoder does.
 * (Its proof is in {@link Gate}; these are the tests that fail if the proof or the code is
 * wrong. The oracle tests also run half their cases gated.)
 */
class GateTest {

    private static final String NOISE = "ab cd\t\n\r+%'\\\\u0041\\n\\t%41%2f%4 '\\'''\"'\"' xyz"
            + "0123456789ABCDEF/=-_\\u00e4\\uD83D\\uDE00  \\";

    /** The escape at in[0], read by the gate, against the decoder's reading of the same bytes. */
    @Test
    void escapeReading_isTheDecoders() {
        int decoded = 0;
        for (int iter = 0; iter < MaskerPropertyTest.cases(20_000); iter++) {
            Random rnd = new Random(0x6A7E_1000L + iter);
            byte[] in = new byte[1 + rnd.nextInt(7)];
            in[0] = (byte) "\\%'".charAt(rnd.nextInt(3));
            for (int k = 1; k < in.length; k++) {
                in[k] = rnd.nextInt(4) == 0 ? (byte) rnd.nextInt(256)
                        : (byte) "\\'\"u0aF9gn trb%+".charAt(rnd.nextInt(16));
            }
            String ctx = "iter=" + iter + " bytes=" + Arrays.toString(in);
            int whole = Gate.escape(in, 0, in.length, true);
            assertNotEquals(Gate.WAIT, whole, ctx);
            byte[] view = EscapeView.decodeWhole(in);
            if (whole == Gate.DIRTY) {
                assertEquals('u', in[1], ctx);
                continue;
            }
            int width = whole == Gate.PLAIN ? 1 : whole >>> 8;
            byte[] first = whole == Gate.PLAIN ? new byte[] {in[0]} : new byte[] {(byte) whole};
            byte[] expected = concat(SecretPatterns.normalise(first),
                    EscapeView.decodeWhole(Arrays.copyOfRange(in, width, in.length)));
            assertArrayEquals(expected, view, ctx);
            decoded += whole == Gate.PLAIN ? 0 : 1;
            // Read before all bytes are there: wait, or already the final answer.
            for (int end = 1; end < in.length; end++) {
                int early = Gate.escape(in, 0, end, false);
                if (early != Gate.WAIT) {
                    assertEquals(whole, early, ctx + " end=" + end);
                }
            }
        }
        assertTrue(decoded > 1000, "only " + decoded + " escapes decoded");
    }

    /**
     * Random values; log-like text with words, whitespace runs of every length, escape bytes and
     * binary, and forms of the values (base64 wrapped at any width, hex grouped, percent, JSON,
     * shell) planted at every alignment to the gate's 8-byte slots: gated output equals ungated
     * output, streamed in random chunks, and the gate did let bytes past the view.
     */
    @Test
    void gatedOutput_equalsUngated_withPlantedForms() throws IOException {
        long skipped = 0;
        long total = 0;
        for (int iter = 0; iter < MaskerPropertyTest.cases(400); iter++) {
            Random rnd = new Random(0x6A7E_2000L + iter);
            Map<String, byte[]> secrets = new LinkedHashMap<>();
            int count = 1 + rnd.nextInt(4);
            for (int i = 0; i < count; i++) {
                secrets.put("V" + i, MaskerPropertyTest.randomValue(rnd));
            }
            byte[][] values = secrets.values().toArray(new byte[0][]);
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            int pieces = 4 + rnd.nextInt(12);
            for (int i = 0; i < pieces; i++) {
                text.writeBytes(noise(rnd, rnd.nextInt(200)));
                // Every alignment: 0 to 15 bytes of plain text before the form.
                text.writeBytes("abcdefghijklmnop".substring(0, rnd.nextInt(16))
                        .getBytes(StandardCharsets.US_ASCII));
                byte[] v = values[rnd.nextInt(values.length)];
                byte[] form = rnd.nextInt(5) == 0 ? v
                        : MaskerPropertyTest.randomForm(rnd, v, rnd.nextInt(MaskerPropertyTest.KINDS));
                if (form != null) {
                    text.writeBytes(form);
                }
            }
            byte[] input = text.toByteArray();
            Masker gated = Masker.compile(secrets, Gate.WORTH_FROM);
            Masker plain = Masker.compile(secrets, Integer.MAX_VALUE);
            assertTrue(gated.gate != null && plain.gate == null);
            byte[] expected = plain.maskAll(input);
            String ctx = "iter=" + iter;
            NaiveMasker.assertSameBytes(expected, gated.maskAll(input), ctx + " batch");
            NaiveMasker.assertSameBytes(expected, MaskerPropertyTest.streamed(gated, input, rnd),
                    ctx + " streamed");
            MaskingOutputStream s = gated.wrap(OutputStream.nullOutputStream());
            s.write(input);
            s.finish();
            skipped += input.length - s.decodedBytes();
            total += input.length;
        }
        assertTrue(skipped > total / 4, "the gate let only " + skipped + " of " + total
                + " bytes past the view");
    }

    /** Ordinary text with no value in it: almost nothing goes through the view. */
    @Test
    void ordinaryText_mostlySkipsTheView() throws IOException {
        Random rnd = new Random(0x6A7E_3000L);
        Map<String, byte[]> secrets = new LinkedHashMap<>();
        for (int i = 0; i < 50; i++) {
            secrets.put("V" + i, MaskerPropertyTest.randomValue(rnd));
        }
        StringBuilder log = new StringBuilder();
        String[] words = {"request", "user", "session", "GET", "/api/v1/items", "took", "ms"};
        while (log.length() < 1 << 20) {
            log.append("2025-01-02 12:00:").append(rnd.nextInt(60)).append(" INFO ");
            for (int w = 0; w < 8; w++) {
                log.append(words[rnd.nextInt(words.length)]).append(' ');
            }
            log.append("id=").append(Long.toHexString(rnd.nextLong())).append('\n');
        }
        byte[] input = log.toString().getBytes(StandardCharsets.US_ASCII);
        Masker m = Masker.compile(secrets);
        MaskingOutputStream s = m.wrap(OutputStream.nullOutputStream());
        s.write(input);
        s.finish();
        assertTrue(s.decodedBytes() < input.length / 10, s.decodedBytes() + " of " + input.length);
        assertEquals(0, s.maskedCount());
    }

    private static byte[] noise(Random rnd, int n) {
        byte[] out = new byte[n];
        for (int k = 0; k < n; k++) {
            int pick = rnd.nextInt(10);
            out[k] = pick < 6 ? (byte) ('a' + rnd.nextInt(26))
                    : pick < 9 ? (byte) NOISE.charAt(rnd.nextInt(NOISE.length()))
                    : (byte) rnd.nextInt(256);
        }
        if (n > 20 && rnd.nextInt(4) == 0) {
            Arrays.fill(out, rnd.nextInt(n - 20), n - 8, (byte) ' ');
        }
        return out;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

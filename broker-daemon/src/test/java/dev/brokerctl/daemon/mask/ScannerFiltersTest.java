package dev.brokerctl.daemon.mask;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The scanner's start filters with one filter for every pattern (shortest pattern 12 to 14
 * bytes: 8-byte windows at a stride of 5 to 7, no 2-byte prefix filter), and the frontier
 * catching up at the first match after a stretch without one.
 */
class ScannerFiltersTest {

    private static Automaton automaton(int... lengths) {
        Random rnd = new Random(1);
        List<Automaton.Pattern> patterns = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            byte[] p = new byte[lengths[i]];
            rnd.nextBytes(p);
            patterns.add(new Automaton.Pattern(p, 0, i));
        }
        return new Automaton(patterns);
    }

    @Test
    void oneFilter_forShortestTwelveToFourteen_twoBelowAndEightAtFifteen() {
        assertEquals(5, automaton(12, 40).longStride);
        assertNull(automaton(12, 40).shortPrefixes);
        assertEquals(7, automaton(14, 15, 16).longStride);
        assertNull(automaton(14).shortPrefixes);
        assertEquals(Automaton.STRIDE, automaton(11, 40).longStride);
        assertNotNull(automaton(11, 40).shortPrefixes);
        assertEquals(Automaton.STRIDE, automaton(15, 40).longStride);
        assertNull(automaton(15, 40).shortPrefixes);
    }

    /**
     * Values of 12 to 14 bytes (raw stage: one filter at stride 5 to 7) next to longer ones,
     * planted at every offset into random text (so at every phase of the stride), in random
     * chunks: the output is the brute-force oracle's.
     */
    @Test
    void oneFilter_missesNoMatch_atAnyPhase() throws IOException {
        String alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        for (int iter = 0; iter < MaskerPropertyTest.cases(60); iter++) {
            Random rnd = new Random(0x5CA7_0000L + iter);
            Map<String, byte[]> secrets = new LinkedHashMap<>();
            int shortLen = 12 + rnd.nextInt(3);
            for (int i = 0; i < 3; i++) {
                int len = i == 0 ? shortLen : shortLen + rnd.nextInt(30);
                StringBuilder v = new StringBuilder();
                for (int k = 0; k < len; k++) {
                    v.append(alnum.charAt(rnd.nextInt(alnum.length())));
                }
                secrets.put("S" + i, v.toString().getBytes(StandardCharsets.US_ASCII));
            }
            Masker m = Masker.compile(secrets);
            assertEquals(shortLen - Automaton.GRAM + 1, m.raw.longStride, "iter=" + iter);
            NaiveMasker naive = new NaiveMasker(secrets);
            byte[][] values = secrets.values().toArray(new byte[0][]);
            for (int offset = 0; offset < 2 * Automaton.STRIDE; offset++) {
                ByteArrayOutputStream text = new ByteArrayOutputStream();
                for (int k = 0; k < 40 + offset; k++) {
                    text.write(alnum.charAt(rnd.nextInt(alnum.length())));
                }
                byte[] v = values[rnd.nextInt(values.length)];
                text.write(v, 0, v.length);
                text.writeBytes(" and ".getBytes(StandardCharsets.US_ASCII));
                text.write(values[0], 0, values[0].length);
                byte[] input = text.toByteArray();
                String ctx = "iter=" + iter + " offset=" + offset;
                byte[] expected = naive.mask(input);
                NaiveMasker.assertSameBytes(expected, m.maskAll(input), ctx);
                NaiveMasker.assertSameBytes(expected, MaskerPropertyTest.streamed(m, input, rnd), ctx);
                assertTrue(new String(expected, StandardCharsets.US_ASCII).contains("[MASKED:S0]"), ctx);
            }
        }
    }

    /**
     * A value at the end of 8,000 bytes without a match, written at once: the scanner passes
     * over each position once (skipping most), and the frontier does not then walk the 8,000
     * positions again to reach the match.
     */
    @Test
    void firstMatchAfterLongStretch_costsNoWalkOverTheStretch() throws IOException {
        Masker m = Masker.compile(Map.of("V", "wxyz".getBytes(StandardCharsets.US_ASCII)));
        assertNull(m.decoded);
        byte[] input = ("abcd ".repeat(1600) + "wxyz").getBytes(StandardCharsets.US_ASCII);
        MaskingOutputStream s = m.wrap(OutputStream.nullOutputStream());
        s.write(input);
        s.finish();
        assertEquals(1, s.maskedCount());
        // Positions passed over (input.length) plus the match and a few frontier steps.
        assertTrue(s.workSteps() < input.length + 32, "work " + s.workSteps() + " for "
                + input.length + " bytes");
    }
}

package dev.brokerctl.daemon.mask;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The gate's branch-free fast path gives exactly what the exact byte loop gives: the same
 * verdict and, where it has them, the same grams, at every position of random text that mixes
 * words, whitespace runs, escape bytes and binary. (The soundness of the verdict itself is what
 * the oracle tests check with the gate forced on.)
 */
class GateTest {

    private static final String PIECES = "ab cd\\t\\n\\r+%'\\\\u0041 xyz0123456789ABCDEF/=-_\\u00e4  ";

    @Test
    void fastPath_agreesWithExactLoop_everywhere() {
        int fast = 0;
        for (int iter = 0; iter < MaskerPropertyTest.cases(200); iter++) {
            Random rnd = new Random(0x6A7E_0000L + iter);
            byte[] text = new byte[200 + rnd.nextInt(400)];
            for (int k = 0; k < text.length; k++) {
                int pick = rnd.nextInt(10);
                text[k] = pick < 6 ? (byte) ('a' + rnd.nextInt(26))
                        : pick < 9 ? (byte) PIECES.charAt(rnd.nextInt(PIECES.length()))
                        : (byte) rnd.nextInt(256);
            }
            if (rnd.nextInt(4) == 0) {
                for (int k = rnd.nextInt(text.length - 20), n = 0; n < 12; n++) {
                    text[k + n] = ' ';
                }
            }
            for (boolean start : new boolean[] {true, false}) {
                for (int r = start ? 0 : Gate.BACK; r < text.length; r++) {
                    long[] fw1 = new long[1], bw1 = new long[1], fw2 = new long[1], bw2 = new long[1];
                    int a = Gate.gather(text, r, text.length, start, fw1, bw1, 0, false);
                    int b = Gate.gather(text, r, text.length, start, fw2, bw2, 0, true);
                    String ctx = "iter=" + iter + " r=" + r;
                    if (a <= Gate.MAY || b <= Gate.MAY) {
                        assertEquals(b, a, ctx);
                        continue;
                    }
                    // Where both read grams, the fast path reports all four complete and
                    // the exact loop must agree on the long ones (the short ones are their parts).
                    assertEquals(fw2[0], fw1[0], ctx + " forward gram");
                    assertEquals(bw2[0], bw1[0], ctx + " backward gram");
                    assertEquals(b, a, ctx + " complete grams");
                    fast++;
                }
            }
        }
        assertTrue(fast > 1000, "the fast path decided only " + fast + " positions");
    }

    /**
     * A sample inside a run of spaces is clear, unless the run is opened by a backslash: then
     * "\ " is an escape across the sample, and a stretch ended there would read the backslash
     * alone (found by fuzzing: the batch masked a backslash that the oracle kept).
     */
    @Test
    void aSampleInsideASeparator_isClear_unlessAnEscapeBeforeItCoversIt() {
        Gate gate = new Gate(java.util.List.of("abcdefgh".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        byte[] escaped = "zzzzzzzz=\\                    qqqqqqqq".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] plain = "zzzzzzzz=x                    qqqqqqqq".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        int r = 10;
        assertEquals(' ', escaped[r]);
        assertEquals('\\', escaped[r - 1]);
        assertTrue(gate.mayMatch(escaped, r, escaped.length, true), "the escape covers the sample");
        assertFalse(gate.mayMatch(plain, r, plain.length, true), "the same run without it is a separator");
        assertFalse(gate.mayMatch(escaped, r + 11, escaped.length, true), "as far past it as an escape is long, it is again");
    }
}

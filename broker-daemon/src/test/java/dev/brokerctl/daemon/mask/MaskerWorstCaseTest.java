package dev.brokerctl.daemon.mask;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Adversarial values and output: a long value that almost matches everywhere and a short one
 * inside it. Masking used to rescan up to the long value's length after every replacement of
 * the short one: 256 KiB took 32 s. The work must grow linearly with the output.
 */
class MaskerWorstCaseTest {

    private static final int RUN = 64 * 1024;

    /** Values "aaaa" and 64 KiB of 'a'; output: runs of one 'a' fewer, each ended by 'b' (a line break would not end it: the decoded view reads across breaks). */
    private static Masker adversarial() {
        byte[] run = new byte[RUN];
        Arrays.fill(run, (byte) 'a');
        return Masker.compile(Map.of("SHORT", "aaaa".getBytes(), "LONG", run));
    }

    private static byte[] output(int size) {
        byte[] out = new byte[size];
        Arrays.fill(out, (byte) 'a');
        for (int i = RUN - 1; i < size; i += RUN) {
            out[i] = 'b';
        }
        return out;
    }

    /** Best of a few runs, in nanoseconds; also checks what was masked. */
    private static long bestTime(Masker m, byte[] text) throws IOException {
        long best = Long.MAX_VALUE;
        for (int r = 0; r < 5; r++) {
            MaskingOutputStream s = m.wrap(OutputStream.nullOutputStream());
            long t0 = System.nanoTime();
            for (int at = 0; at < text.length; at += 4096) {
                s.write(text, at, Math.min(4096, text.length - at));
            }
            s.finish();
            best = Math.min(best, System.nanoTime() - t0);
            // Each run of 65,535 'a' is 16,383 times "aaaa" and 3 left over.
            assertEquals((long) (text.length / RUN) * ((RUN - 1) / 4), s.maskedCount());
        }
        return best;
    }

    @Test
    void shortValueInsideLongNearMatch_takesLinearTime() {
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            Masker m = adversarial();
            bestTime(m, output(64 * 1024)); // warm-up
            long small = bestTime(m, output(64 * 1024));
            long large = bestTime(m, output(256 * 1024));
            // Linear: x4 the output, about x4 the time (quadratic would be x16). Generous, since
            // timing on a shared machine is noisy; the absolute bound only catches a hang.
            assertTrue(large < 8 * small + 20_000_000L,
                    "256 KiB took " + large / 1000 + " us, 64 KiB " + small / 1000 + " us");
            assertTrue(large < 2_000_000_000L, "256 KiB took " + large / 1_000_000 + " ms");
        });
    }

    @Test
    void adversarialOutput_matchesOracleOnSmallerScale() {
        // The same shape, small enough for the brute-force oracle.
        byte[] run = new byte[300];
        Arrays.fill(run, (byte) 'a');
        Map<String, byte[]> secrets = Map.of("SHORT", "aaaa".getBytes(), "LONG", run);
        byte[] text = new byte[1500];
        Arrays.fill(text, (byte) 'a');
        for (int i = 299; i < text.length; i += 300) {
            text[i] = 'b';
        }
        text[1400] = 'b';
        Masker m = Masker.compile(secrets);
        NaiveMasker.assertSameBytes(new NaiveMasker(secrets).mask(text), m.maskAll(text), "oracle");
    }
}

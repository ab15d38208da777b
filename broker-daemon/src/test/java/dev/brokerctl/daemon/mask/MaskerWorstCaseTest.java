package dev.brokerctl.daemon.mask;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
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

    /** The work counter after masking {@code text} in 4 KiB writes; also checks what was masked. */
    private static long work(Masker m, byte[] text) throws IOException {
        MaskingOutputStream s = m.wrap(OutputStream.nullOutputStream());
        for (int at = 0; at < text.length; at += 4096) {
            s.write(text, at, Math.min(4096, text.length - at));
        }
        s.finish();
        // Each run of 65,535 'a' is 16,383 times "aaaa" and 3 left over.
        assertEquals((long) (text.length / RUN) * ((RUN - 1) / 4), s.maskedCount());
        // The long value's 'a' grams pass the gate everywhere: the view sees every byte.
        assertEquals(text.length, s.decodedBytes());
        return s.workSteps();
    }

    /**
     * Counts, not time (the time is in docs/benchmarks.md): the old design's rescans made the
     * work grow with output x longest pattern, 256 KiB times 64 KiB here. Now each byte costs a
     * bounded number of steps, whatever the output's size.
     */
    @Test
    void shortValueInsideLongNearMatch_takesLinearWork() throws IOException {
        Masker m = adversarial();
        long small = work(m, output(64 * 1024));
        long large = work(m, output(256 * 1024));
        assertTrue(large <= 16L * 256 * 1024, "256 KiB took " + large + " steps");
        assertTrue(large <= 4 * small + 4 * RUN,
                "x4 the output took " + large + " steps against " + small);
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

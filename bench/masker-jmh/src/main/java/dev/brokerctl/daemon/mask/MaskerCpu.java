package dev.brokerctl.daemon.mask;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Random;

/**
 * The JMH cases of {@link MaskerJmh#throughput} timed by this thread's CPU time as well as by
 * the wall clock: on a shared host the wall-clock figure measures the host's load as much as
 * the masker, the CPU-time one (MB per CPU second of the masking thread) much less so.
 * Prints, per case, the median of the rounds after warm-up in both clocks and the share of
 * input bytes that went through the decoded view. Counts and rates only, never a value.
 *
 * <pre>
 * java -cp bench/masker-jmh/target/benchmarks.jar dev.brokerctl.daemon.mask.MaskerCpu \
 *     [rounds [value sets [outputs]]]      # -DgateOff=true: the decoded stage without its gate
 * </pre>
 */
public final class MaskerCpu {

    private MaskerCpu() {
    }

    public static void main(String[] args) throws IOException {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        String[] valueSets = args.length > 1 ? args[1].split(",")
                : new String[] {"1000-mixed", "1000-alnum", "1000-binary", "1-alnum"};
        String[] outputs = args.length > 2 ? args[2].split(",") : new String[] {"log", "random"};
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        System.out.printf("%-12s %-7s %10s %10s %9s%n", "values", "output", "wall MB/s",
                "cpu MB/s", "decoded");
        for (String values : valueSets) {
            for (String output : outputs) {
                MaskerJmh.Ordinary s = new MaskerJmh.Ordinary();
                s.values = values;
                s.output = output;
                s.setUp();
                if (Boolean.getBoolean("gateOff")) {
                    s.masker = Masker.compile(MaskerJmh.values(new Random(42),
                            Integer.parseInt(values.split("-")[0]), kind(values)), Integer.MAX_VALUE);
                }
                double[] wall = new double[rounds];
                double[] cpu = new double[rounds];
                long decoded = 0;
                for (int r = -3; r < rounds; r++) {
                    long c0 = mx.getCurrentThreadCpuTime();
                    long t0 = System.nanoTime();
                    decoded = mask(s.masker, s.input);
                    long t1 = System.nanoTime();
                    long c1 = mx.getCurrentThreadCpuTime();
                    if (r >= 0) {
                        wall[r] = s.input.length * 1e3 / (t1 - t0);
                        cpu[r] = s.input.length * 1e3 / (c1 - c0);
                    }
                }
                s.tearDown();
                Arrays.sort(wall);
                Arrays.sort(cpu);
                System.out.printf("%-12s %-7s %10.0f %10.0f %8.1f%%%n", values, output,
                        wall[rounds / 2], cpu[rounds / 2], 100.0 * decoded / s.input.length);
            }
        }
    }

    private static int kind(String values) {
        return values.endsWith("alnum") ? 0 : values.endsWith("binary") ? 1 : 2;
    }

    /** Masks in 64 KiB writes; returns the bytes that went through the decoded view. */
    private static long mask(Masker m, byte[] input) throws IOException {
        MaskingOutputStream out = m.wrap(OutputStream.nullOutputStream());
        for (int at = 0; at < input.length; at += 64 * 1024) {
            out.write(input, at, Math.min(64 * 1024, input.length - at));
        }
        out.finish();
        return out.decodedBytes();
    }
}

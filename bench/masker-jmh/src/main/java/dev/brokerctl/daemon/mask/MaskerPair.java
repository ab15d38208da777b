package dev.brokerctl.daemon.mask;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Masker builds compared in one JVM, by the CPU time of this thread: each build in its own class
 * loader (its compiled mask package first, then the benchmark jar), one case of {@link
 * MaskerJmh#throughput}, rounds alternated A B C A B C ... so that every build sees the same
 * moments of a shared host's load. Prints each build's median CPU MB/s and the median of its
 * per-round ratio to the first build. Counts and rates only, never a value.
 *
 * <pre>
 * java -cp bench/masker-jmh/target/benchmarks.jar dev.brokerctl.daemon.mask.MaskerPair \
 *     ROUNDS VALUES OUTPUT BENCHJAR CLASSDIR|- ...    # "-": the jar's own masker
 * </pre>
 */
public final class MaskerPair {

    private MaskerPair() {
    }

    public static void main(String[] a) throws Exception {
        int rounds = Integer.parseInt(a[0]);
        String values = a[1];
        String output = a[2];
        URL jar = Path.of(a[3]).toUri().toURL();
        int k = a.length - 4;
        Object[] maskers = new Object[k];
        byte[][] inputs = new byte[k][];
        Method[] mask = new Method[k];
        for (int i = 0; i < k; i++) {
            URL[] urls = a[4 + i].equals("-") ? new URL[] {jar}
                    : new URL[] {Path.of(a[4 + i]).toUri().toURL(), jar};
            ClassLoader cl = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
            Class<?> ord = Class.forName("dev.brokerctl.daemon.mask.MaskerJmh$Ordinary", true, cl);
            Object s = ord.getDeclaredConstructor().newInstance();
            ord.getField("values").set(s, values);
            ord.getField("output").set(s, output);
            ord.getMethod("setUp").invoke(s);
            Field fm = ord.getDeclaredField("masker"); fm.setAccessible(true);
            Field fi = ord.getDeclaredField("input"); fi.setAccessible(true);
            maskers[i] = fm.get(s);
            inputs[i] = (byte[]) fi.get(s);
            Class<?> cpu = Class.forName("dev.brokerctl.daemon.mask.MaskerCpu", true, cl);
            Class<?> m = Class.forName("dev.brokerctl.daemon.mask.Masker", true, cl);
            mask[i] = cpu.getDeclaredMethod("mask", m, byte[].class);
            mask[i].setAccessible(true);
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        double[][] r = new double[k][rounds];
        for (int t = -4; t < rounds; t++) {
            for (int i = 0; i < k; i++) {
                long c0 = mx.getCurrentThreadCpuTime();
                mask[i].invoke(null, maskers[i], inputs[i]);
                long c1 = mx.getCurrentThreadCpuTime();
                if (t >= 0) r[i][t] = inputs[i].length * 1e3 / (c1 - c0);
            }
        }
        for (int i = 0; i < k; i++) {
            double[] ratio = new double[rounds];
            for (int t = 0; t < rounds; t++) ratio[t] = r[i][t] / r[0][t];
            Arrays.sort(ratio);
            double[] s = r[i].clone();
            Arrays.sort(s);
            System.out.printf("%-28s cpu MB/s median %4.0f  (min %4.0f max %4.0f)  vs first: median x%.3f%n",
                    a[4 + i], s[rounds / 2], s[0], s[rounds - 1], ratio[rounds / 2]);
        }
    }
}

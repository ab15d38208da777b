package dev.brokerctl.daemon.mask;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Throughput of {@link MaskingOutputStream}, single thread, plain {@code main} (no JMH). Builds
 * the tests first, then from /work/main:
 *
 * <pre>
 * mvn -q -o -pl broker-daemon test
 * java -Xms2g -Xmx2g -cp broker-daemon/target/classes:broker-daemon/target/test-classes \
 *     dev.brokerctl.daemon.mask.MaskerBenchmark [MiB per input, default 256]
 * </pre>
 *
 * Inputs are generated in memory with a fixed seed, then written in 64 KiB chunks to a null
 * stream; MB/s is 10^6 input bytes per second, median and best of the timed rounds after warm-up.
 * Prints counts and sizes only, never values.
 */
public final class MaskerBenchmark {

    private static final String ALNUM =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final int CHUNK = 64 * 1024;
    private static final int WARMUP = 3;
    private static final int ROUNDS = 7;

    private MaskerBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        int mib = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        Random rnd = new Random(42);
        Map<String, byte[]> mixed = values(rnd, 1000, 2);
        Map<String, byte[]> alnum = values(rnd, 1000, 0);
        Map<String, byte[]> binary = values(rnd, 1000, 1);
        Map<String, byte[]> one = values(rnd, 1, 0);
        byte[] log = logText(new Random(7), mixed, mib << 20);
        byte[] random = new byte[mib << 20];
        new Random(9).nextBytes(random);

        System.out.printf("input: %d MiB per case, %d KiB writes, %s%n", mib, CHUNK / 1024,
                System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        run("1000 values (half alnum, half binary), ASCII log text", mixed, log);
        run("1000 alnum values, ASCII log text", alnum, log);
        run("1000 binary values, ASCII log text", binary, log);
        run("1 alnum value, ASCII log text", one, log);
        run("1000 values (half alnum, half binary), random binary", mixed, random);
        run("1000 binary values, random binary", binary, random);
        run("worst case: 1000 values, text made of unfinished pattern prefixes", mixed,
                fragments(new Random(11), mixed, mib << 20, false));
        run("many hits: 1000 values, a whole variant every ~100 bytes of log text", mixed,
                fragments(new Random(12), mixed, mib << 20, true));
    }

    private static void run(String label, Map<String, byte[]> secrets, byte[] input)
            throws IOException {
        long t0 = System.nanoTime();
        Masker m = Masker.compile(secrets);
        long compileMs = (System.nanoTime() - t0) / 1_000_000;
        double[] mbps = new double[ROUNDS];
        long masked = 0;
        for (int r = -WARMUP; r < ROUNDS; r++) {
            MaskingOutputStream s = m.wrap(OutputStream.nullOutputStream());
            long start = System.nanoTime();
            for (int at = 0; at < input.length; at += CHUNK) {
                s.write(input, at, Math.min(CHUNK, input.length - at));
            }
            s.finish();
            long ns = System.nanoTime() - start;
            if (r >= 0) {
                mbps[r] = input.length * 1e3 / ns;
            }
            masked = s.maskedCount();
        }
        Arrays.sort(mbps);
        System.out.printf("%n%s%n  patterns=%d longest=%d states=%d automaton~%.1f MiB "
                        + "compile=%d ms masked=%d%n  median %.0f MB/s, best %.0f MB/s%n",
                label, m.patternCount(), m.longestPattern(), m.stateCount(),
                m.footprintBytes() / 1048576.0, compileMs, masked, mbps[ROUNDS / 2],
                mbps[ROUNDS - 1]);
        m.destroy();
    }

    /** kind 0: alphanumeric, 1: binary, 2: alternate. Lengths 16 to 64 bytes, all distinct. */
    static Map<String, byte[]> values(Random rnd, int count, int kind) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            byte[] v = new byte[16 + rnd.nextInt(49)];
            boolean binary = kind == 1 || (kind == 2 && i % 2 == 1);
            for (int j = 0; j < v.length; j++) {
                v[j] = binary ? (byte) rnd.nextInt(256) : (byte) ALNUM.charAt(rnd.nextInt(62));
            }
            out.put("SECRET_" + i, v);
        }
        return out;
    }

    /**
     * Log-like lines: timestamps, levels, paths, key=value pairs, random hex ids and base64
     * payloads, and now and then a secret in one of its encodings (about one per 20 KB).
     */
    static byte[] logText(Random rnd, Map<String, byte[]> secrets, int size) {
        List<byte[]> values = List.copyOf(secrets.values());
        String[] levels = {"INFO ", "DEBUG", "WARN ", "ERROR"};
        String[] words = {"request", "user", "session", "cache", "miss", "hit", "retry",
            "connected", "timeout", "GET", "POST", "/api/v1/items", "/healthz", "status",
            "bytes", "took", "ms", "worker", "queue", "job", "done", "failed", "the", "and"};
        ByteArrayOutputStream out = new ByteArrayOutputStream(size + 4096);
        StringBuilder line = new StringBuilder(256);
        int lineNo = 0;
        while (out.size() < size) {
            line.setLength(0);
            line.append(String.format("2025-01-%02d %02d:%02d:%02d.%03d ", 1 + rnd.nextInt(28),
                    rnd.nextInt(24), rnd.nextInt(60), rnd.nextInt(60), rnd.nextInt(1000)));
            line.append(levels[rnd.nextInt(4)]).append(" [worker-").append(rnd.nextInt(16))
                    .append("] ");
            int n = 4 + rnd.nextInt(10);
            for (int w = 0; w < n; w++) {
                line.append(words[rnd.nextInt(words.length)]).append(' ');
            }
            line.append("id=").append(HexFormat.of().formatHex(bytes(rnd, 8 + rnd.nextInt(9))));
            if (rnd.nextInt(3) == 0) {
                line.append(" payload=").append(Base64.getEncoder().encodeToString(
                        bytes(rnd, 12 + rnd.nextInt(40))));
            }
            line.append(" took=").append(rnd.nextInt(5000)).append("ms");
            out.writeBytes(line.toString().getBytes(StandardCharsets.US_ASCII));
            if (++lineNo % 150 == 0) {
                List<byte[]> forms = SecretPatterns.all(values.get(rnd.nextInt(values.size())));
                out.writeBytes(" leaked=".getBytes(StandardCharsets.US_ASCII));
                out.writeBytes(forms.get(rnd.nextInt(forms.size())));
            }
            out.write('\n');
        }
        return Arrays.copyOf(out.toByteArray(), size);
    }

    /**
     * Adversarial input: prefixes (8 bytes up to one short of whole) of random variants, back
     * to back, so the start filter passes nearly everywhere and the automaton runs on every
     * byte; or, with {@code whole}, log text with a complete variant about every 100 bytes.
     */
    static byte[] fragments(Random rnd, Map<String, byte[]> secrets, int size, boolean whole) {
        List<byte[]> values = List.copyOf(secrets.values());
        byte[] filler = logText(rnd, Map.of("X", "unused-value".getBytes(StandardCharsets.US_ASCII)),
                1 << 20);
        ByteArrayOutputStream out = new ByteArrayOutputStream(size + 4096);
        while (out.size() < size) {
            List<byte[]> forms = SecretPatterns.all(values.get(rnd.nextInt(values.size())));
            byte[] f = forms.get(rnd.nextInt(forms.size()));
            if (whole) {
                out.write(filler, rnd.nextInt(filler.length - 100), 60 + rnd.nextInt(40));
                out.writeBytes(f);
            } else {
                out.write(f, 0, Math.min(f.length - 1, 8 + rnd.nextInt(f.length)));
            }
        }
        return Arrays.copyOf(out.toByteArray(), size);
    }

    private static byte[] bytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }
}

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
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Throughput of {@link MaskingOutputStream}, one thread, in 64 KiB writes to a null stream
 * (docs/benchmarks.md has the command and the figures). {@code throughput}: one operation is one
 * input byte, so ops/us is MB/s. {@code worstCase}: the adversarial values of
 * MaskerWorstCaseTest, time for 256 KiB. Inputs come from fixed seeds; nothing printed holds a
 * value.
 */
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class MaskerJmh {

    static final int SIZE = 16 << 20;
    private static final int CHUNK = 64 * 1024;
    private static final String ALNUM =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    @State(Scope.Benchmark)
    public static class Ordinary {
        /** How many values, and of which kind. */
        @Param({"1000-mixed", "1000-alnum", "1000-binary", "1-alnum"})
        public String values;
        /** log: log lines with a value's form about every 20 KB; random: random bytes. */
        @Param({"log", "random"})
        public String output;

        Masker masker;
        byte[] input;

        @Setup(Level.Trial)
        public void setUp() {
            String[] v = values.split("-");
            int kind = switch (v[1]) {
                case "alnum" -> 0;
                case "binary" -> 1;
                default -> 2;
            };
            Map<String, byte[]> secrets = values(new Random(42), Integer.parseInt(v[0]), kind);
            if (output.equals("log")) {
                input = logText(new Random(7), secrets, SIZE);
            } else {
                input = new byte[SIZE];
                new Random(9).nextBytes(input);
            }
            masker = Masker.compile(secrets);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            masker.destroy();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @OperationsPerInvocation(SIZE)
    public long throughput(Ordinary s) throws IOException {
        return mask(s.masker, s.input);
    }

    @State(Scope.Benchmark)
    public static class Adversarial {
        Masker masker;
        byte[] input;

        @Setup(Level.Trial)
        public void setUp() {
            byte[] run = new byte[64 * 1024];
            Arrays.fill(run, (byte) 'a');
            masker = Masker.compile(Map.of("SHORT", "aaaa".getBytes(StandardCharsets.US_ASCII),
                    "LONG", run));
            input = new byte[256 * 1024];
            Arrays.fill(input, (byte) 'a');
            for (int i = run.length - 1; i < input.length; i += run.length) {
                input[i] = 'b';
            }
        }
    }

    /** Values "aaaa" and 64 KiB of 'a'; 256 KiB of runs of 65,535 'a' ended by 'b'. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public long worstCase(Adversarial s) throws IOException {
        return mask(s.masker, s.input);
    }

    private static long mask(Masker m, byte[] input) throws IOException {
        MaskingOutputStream out = m.wrap(OutputStream.nullOutputStream());
        for (int at = 0; at < input.length; at += CHUNK) {
            out.write(input, at, Math.min(CHUNK, input.length - at));
        }
        out.finish();
        return out.maskedCount();
    }

    /** kind 0: alphanumeric, 1: binary, 2: alternate. Lengths 16 to 64 bytes. */
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
     * payloads, and about every 20 KB a value in one of its printed forms.
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

    private static byte[] bytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }
}

package dev.brokerctl.vault;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Timing of the vault's read paths, for docs/benchmarks.md ("Vault reads"): {@code listVariables}
 * of 10 environments of 1,000 variables each (10,000), and {@code resolve} of one environment's
 * variable (what a {@code run} reads), first use after unlock and warmed (median of many). Not a
 * test: run it with {@code bench/vault-reads.sh}.
 */
public final class VaultReadBench {

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Path dir = Files.createTempDirectory("vault-bench");
        Path file = TestVaults.create(dir);
        try (VaultSession s = TestVaults.unlock(file)) {
            for (int e = 0; e < 10; e++) {
                s.createEnvironment("e" + e, Policy.AUTO);
                Map<String, SecretValue> values = new LinkedHashMap<>();
                for (int i = 0; i < 1000; i++) {
                    values.put(String.format("VAR_%04d", i), TestVaults.value("value-" + e + "-" + i
                            + "-abcdefghijklmnopqrstuvwxyz0123456789"));
                }
                s.putAll("e" + e, values);
            }
        }
        long t0 = System.nanoTime();
        VaultSession s = TestVaults.unlock(file);
        long unlock = System.nanoTime() - t0;
        t0 = System.nanoTime();
        int listed = listAll(s);
        long firstList = System.nanoTime() - t0;
        t0 = System.nanoTime();
        s.resolve("e3", java.util.List.of("VAR_0042")).close();
        long firstRun = System.nanoTime() - t0;
        long[] lists = new long[rounds / 10 + 1];
        long[] runs = new long[rounds];
        for (int i = 0; i < lists.length; i++) {
            t0 = System.nanoTime();
            listAll(s);
            lists[i] = System.nanoTime() - t0;
        }
        for (int i = 0; i < rounds; i++) {
            t0 = System.nanoTime();
            s.resolve("e3", java.util.List.of("VAR_0042")).close();
            runs[i] = System.nanoTime() - t0;
        }
        // another connection writes: the next read sees a changed data_version
        long[] afterWrite = new long[10];
        for (int i = 0; i < afterWrite.length; i++) {
            try (VaultSession other = TestVaults.unlock(file)) {
                other.put("e9", "VAR_0001", TestVaults.value("changed-" + i), null);
            }
            t0 = System.nanoTime();
            s.resolve("e3", java.util.List.of("VAR_0042")).close();
            afterWrite[i] = System.nanoTime() - t0;
        }
        // what the daemon adds to each request since format 3: the state counter read before and
        // after, and the rollback mark written when the request wrote (a run does: its audit entries)
        long[] guard = new long[rounds];
        long[] markWrites = new long[rounds];
        Path mark = StateMark.pathFor(file);
        for (int i = 0; i < rounds; i++) {
            t0 = System.nanoTime();
            s.stateCounter();
            long c = s.stateCounter();
            byte[] raw = StateMark.encode(s, c + i);
            guard[i] = System.nanoTime() - t0;
            t0 = System.nanoTime();
            StateMark.write(mark, raw);
            markWrites[i] = System.nanoTime() - t0;
        }
        s.close();
        System.out.printf("variables listed: %d%n", listed);
        System.out.printf("daemon's per-request check (2 counter reads + the mark's MAC), median of %d: %.3f ms%n",
                rounds, median(guard));
        System.out.printf("the mark's file write (in the background, off the request), median of %d: %.3f ms%n",
                rounds, median(markWrites));
        System.out.printf("unlock (KDF m=256 KiB, light): %.2f ms%n", unlock / 1e6);
        System.out.printf("list of 10,000 variables, first after unlock: %.2f ms%n", firstList / 1e6);
        System.out.printf("list of 10,000 variables, warmed median of %d: %.2f ms%n", lists.length, median(lists));
        System.out.printf("resolve of 1 variable (a run's read), first after unlock: %.3f ms%n", firstRun / 1e6);
        System.out.printf("resolve of 1 variable, warmed median of %d: %.3f ms%n", rounds, median(runs));
        System.out.printf("resolve of 1 variable right after another connection wrote, median of %d: %.3f ms%n",
                afterWrite.length, median(afterWrite));
    }

    private static int listAll(VaultSession s) throws VaultException {
        int n = 0;
        for (EnvironmentInfo e : s.listEnvironments().items()) {
            n += s.listVariables(e.name()).items().size();
        }
        return n;
    }

    private static double median(long[] xs) {
        long[] c = xs.clone();
        java.util.Arrays.sort(c);
        return c[c.length / 2] / 1e6;
    }
}

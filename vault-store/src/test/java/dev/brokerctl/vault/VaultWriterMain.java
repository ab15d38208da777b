package dev.brokerctl.vault;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A child-process writer for the crash and concurrency tests: it puts variables
 * {@code PREFIX_<i>} with value {@code value-<i>} into an environment and prints {@code ack i}
 * after each commit. With {@code --wait-go} it first prints {@code ready} and waits for a line.
 *
 * <p>Usage: {@code VaultWriterMain VAULT ENV PREFIX FROM COUNT [--wait-go]}
 */
public final class VaultWriterMain {

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        String env = args[1];
        String prefix = args[2];
        int from = Integer.parseInt(args[3]);
        int count = Integer.parseInt(args[4]);
        try (VaultSession s = TestVaults.unlock(file)) {
            if (args.length > 5 && args[5].equals("--wait-go")) {
                System.out.println("ready");
                System.out.flush();
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            }
            for (int i = from; i < from + count; i++) {
                s.put(env, prefix + "_" + i, TestVaults.value(valueOf(i)), null);
                System.out.println("ack " + i);
                System.out.flush();
            }
        }
    }

    static String valueOf(int i) {
        return "value-" + i;
    }
}

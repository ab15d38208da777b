package dev.brokerctl.vault.audit;

import dev.brokerctl.vault.VaultSession;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A child-process appender for the concurrency test: it appends {@code COUNT} entries with
 * {@code run_id = PREFIX-<i>} and prints {@code ack i} after each commit. It first prints
 * {@code ready} and waits for a line on stdin, so two children start appending together.
 *
 * <p>Usage: {@code AuditAppenderMain VAULT PREFIX COUNT}
 */
public final class AuditAppenderMain {

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        String prefix = args[1];
        int count = Integer.parseInt(args[2]);
        try (VaultSession s = AuditFixtures.unlock(file)) {
            System.out.println("ready");
            System.out.flush();
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            for (int i = 0; i < count; i++) {
                s.audit(AuditEvent.RUN_STARTED, "dev", AuditDetails.of("run_id", prefix + "-" + i));
                System.out.println("ack " + i);
                System.out.flush();
            }
        }
    }
}

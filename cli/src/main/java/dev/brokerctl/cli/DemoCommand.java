package dev.brokerctl.cli;

import dev.brokerctl.approval.Quoting;
import dev.brokerctl.daemon.Daemon;
import dev.brokerctl.daemon.DaemonConfig;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.vault.Policy;
import dev.brokerctl.vault.SecretValue;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditEntry;
import dev.brokerctl.vault.crypto.KdfParams;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "demo", description = "Show the main job in a throwaway home: a daemon injects a"
        + " sample token into a command that prints it in several encodings, and only masked output"
        + " comes back. Touches nothing of yours and cleans up after itself.")
final class DemoCommand implements Callable<Integer>, HoldsSecrets {

    /** What the demo command prints: the token raw, base64, hex, URL-encoded and in JSON. */
    static final String SCRIPT = String.join("\n",
            "echo \"raw:     $DEMO_TOKEN\"",
            "echo \"base64:  $(printf %s \"$DEMO_TOKEN\" | base64)\"",
            "echo \"hex:     $(printf %s \"$DEMO_TOKEN\" | od -An -tx1 | tr -d ' \\n')\"",
            "echo \"json:    {\\\"token\\\": \\\"$DEMO_TOKEN\\\"}\"",
            "echo \"in a URL: https://api.example.com/?key=$DEMO_TOKEN&x=1\"",
            "echo \"a line that holds no secret\"");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        // the daemon's log lines would interleave with the story told here
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        Path tmp = Files.createTempDirectory("brokerctl-demo-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        SecureRandom random = new SecureRandom();
        char[] passphrase = randomText(random, 32).toCharArray();
        Daemon daemon = null;
        try {
            Path vaultFile = tmp.resolve("home/vault.db");
            // A throwaway vault under a random passphrase, deleted when the demo ends: a KDF cost
            // below the floor protects nothing here, so it takes the explicit test-only switch.
            Vault.create(vaultFile, passphrase, KdfParams.insecureForTests(8 * 1024, 1, 1));
            try (VaultSession s = Vault.open(vaultFile).unlock(passphrase);
                    SecretValue token = SecretValue.adopt(("demo_" + randomText(random, 24))
                            .getBytes(StandardCharsets.UTF_8))) {
                s.createEnvironment("demo", Policy.AUTO);
                s.put("demo", "DEMO_TOKEN", token, "a sample token made up for this demo");
            }
            out.println("1. A throwaway vault in " + tmp + " holds environment 'demo' (policy auto)");
            out.println("   with one variable, DEMO_TOKEN, set to a random value nobody has seen.");
            Path socket = tmp.resolve("run/brokerd.sock");
            daemon = new Daemon(DaemonConfig.of(socket, vaultFile));
            daemon.unlock(passphrase);
            daemon.start();
            out.println("2. A broker daemon holds the unlocked vault on " + socket + ".");
            out.println("3. This command asks it to run, from argv, with DEMO_TOKEN injected:");
            out.println("     sh -c '<prints $DEMO_TOKEN raw, base64, hex, in JSON and in a URL>'");
            out.println("   Its output, as the daemon sends it back:");
            out.println();
            out.flush();
            ByteArrayOutputStream stdout = new ByteArrayOutputStream();
            ByteArrayOutputStream notes = new ByteArrayOutputStream();
            RunCommand run = new RunCommand();
            run.environment = "demo";
            run.reason = "brokerctl demo";
            run.command = List.of("sh", "-c", SCRIPT);
            int exit = run.execute(BrokerPaths.fromEnvironment().withSocket(socket),
                    Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin")),
                    stdout, notes, null, false);
            for (String line : stdout.toString(StandardCharsets.UTF_8).split("\n")) {
                out.println("     " + line);
            }
            out.println();
            out.println("   exit code " + exit + notes.toString(StandardCharsets.UTF_8).trim());
            out.println("4. The value reached the command, but no form of it came back.");
            daemon.shutdown();
            out.println("5. The audit log in the vault (encrypted, MAC-chained) recorded the run; names, never values:");
            try (VaultSession s = Vault.open(vaultFile).unlock(passphrase)) {
                for (AuditEntry e : s.auditEntries(null, null)) {
                    StringBuilder d = new StringBuilder();
                    e.details().forEach((k, v) -> d.append(' ').append(k).append('=').append(v instanceof List<?> l
                            ? "[" + Quoting.argv(l.stream().map(String::valueOf).toList()) + "]"
                            : Quoting.word(String.valueOf(v))));
                    out.printf("     %3d %-13s%s%n", e.seq(), e.type().id(), d);
                }
                out.println("   " + (s.verifyAudit().isIntact() ? "chain verified" : "CHAIN BROKEN"));
            }
            out.println("Next: brokerctl init   (then brokerctl --help)");
            out.flush();
            return exit == 0 ? ExitCodes.OK : ExitCodes.FAILURE;
        } finally {
            Arrays.fill(passphrase, '\0');
            if (daemon != null) {
                daemon.shutdown();
            }
            deleteTree(tmp);
        }
    }

    private static String randomText(SecureRandom random, int n) {
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        StringBuilder b = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            b.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

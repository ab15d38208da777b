package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Handshake;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.vault.ApproverKeys;
import dev.brokerctl.vault.Policy;
import dev.brokerctl.vault.SecretValue;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.crypto.KdfParams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * An in-process daemon on a real Unix socket in a private temp directory, over a real vault
 * with light KDF parameters.
 */
final class DaemonFixture implements AutoCloseable {

    static final String PASSPHRASE = "correct horse battery staple";
    /**
     * The value of every variable of the fixture's vault: fresh per test JVM, so that a scan of
     * /proc for it (ContainedRunsTest) cannot find the processes of another build on the machine.
     */
    static final String CANARY = "canary-daemon-value-"
            + java.util.HexFormat.of().toHexDigits(new java.security.SecureRandom().nextInt() & 0xffffff, 6);

    final Path dir;
    final Path vaultFile;
    final Path socket;
    final MutableClock clock = new MutableClock();
    Daemon daemon;

    private final java.util.function.UnaryOperator<DaemonConfig> configure;

    DaemonFixture(Path tmp) throws Exception {
        this(tmp, config -> config);
    }

    /** @param configure changes to the daemon's configuration beyond the fixture's own */
    DaemonFixture(Path tmp, java.util.function.UnaryOperator<DaemonConfig> configure) throws Exception {
        this.configure = configure;
        dir = Files.createDirectories(tmp.resolve("private"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        vaultFile = dir.resolve("home/vault.db");
        socket = dir.resolve("run/brokerd.sock");
        Vault.create(vaultFile, PASSPHRASE.toCharArray(), KdfParams.insecureForTests(256, 1, 1));
        try (VaultSession s = Vault.open(vaultFile).unlock(PASSPHRASE.toCharArray())) {
            s.createEnvironment("dev", Policy.AUTO);
            s.createEnvironment("prod", Policy.PROMPT);
            s.put("dev", "TOKEN", SecretValue.copyOf(CANARY.getBytes(StandardCharsets.UTF_8)), "a token");
            s.put("prod", "TOKEN", SecretValue.copyOf(CANARY.getBytes(StandardCharsets.UTF_8)), "a token");
        }
    }

    DaemonFixture start(Duration approvalTimeout, boolean unlocked) throws Exception {
        daemon = new Daemon(configure.apply(DaemonConfig.of(socket, vaultFile).withClock(clock)
                .withApprovalTimeout(approvalTimeout).withIdleLock(Duration.ofMinutes(30))));
        if (unlocked) {
            daemon.unlock(PASSPHRASE.toCharArray());
        }
        daemon.start();
        return this;
    }

    BrokerClient connect() throws BrokerException {
        return BrokerClient.connect(socket, Map.of("name", "test"));
    }

    /** As {@code brokerctl approve}: opens the keyslot locally, then the approver handshake. */
    BrokerClient approver() throws Exception {
        BrokerClient c = connect();
        byte[] key = approverKey(vaultFile, PASSPHRASE);
        try {
            c.authenticate(Handshake.Role.APPROVER, key, new java.security.SecureRandom()).zero();
        } finally {
            java.util.Arrays.fill(key, (byte) 0);
        }
        return c;
    }

    static byte[] approverKey(Path vaultFile, String passphrase) throws Exception {
        try (ApproverKeys k = Vault.open(vaultFile).approverKeys(passphrase.toCharArray())) {
            return k.approverKey();
        }
    }

    /** As {@code brokerctl unlock}: the unlock handshake, then the vault key sealed to the daemon. */
    BrokerClient unlockOverSocket() throws Exception {
        BrokerClient c = connect();
        try (ApproverKeys k = Vault.open(vaultFile).approverKeys(PASSPHRASE.toCharArray())) {
            byte[] verifier = k.unlockVerifier();
            Handshake.SessionKeys keys = c.authenticate(Handshake.Role.UNLOCK, verifier, new java.security.SecureRandom());
            try {
                c.call(Message.of("unlock_key"), k.sealVaultKey(keys.unlockTransport(), Authentication.UNLOCK_AAD));
            } finally {
                keys.zero();
                java.util.Arrays.fill(verifier, (byte) 0);
            }
        }
        return c;
    }

    /** Stops the daemon (stopping appends what is queued); the vault's audit entries, checked intact. */
    java.util.List<dev.brokerctl.vault.audit.AuditEntry> entriesAfterStop() throws Exception {
        daemon.shutdown();
        try (VaultSession s = Vault.open(vaultFile).unlock(PASSPHRASE.toCharArray())) {
            assertTrue(s.verifyAudit().isIntact(), s.verifyAudit().toString());
            return s.auditEntries(null, null);
        }
    }

    @Override
    public void close() throws Exception {
        if (daemon != null) {
            daemon.shutdown();
            assertFalse(Files.exists(socket), "socket file removed on stop");
            assertEquals(0, daemon.serving(), "connections left running after shutdown");
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                String n = t.getName();
                if (t.isAlive() && (n.equals("accept") || n.equals("idle-lock"))) {
                    t.join(5_000);
                    assertFalse(t.isAlive(), "thread " + n + " left running");
                }
            }
            List<String> left = ProcessHandle.current().children().filter(ProcessHandle::isAlive)
                    .filter(p -> !p.info().command().orElse("").endsWith("/java"))
                    .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList();
            assertEquals(List.of(), left, "no child process left");
        }
    }
}

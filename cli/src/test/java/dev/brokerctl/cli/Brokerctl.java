package dev.brokerctl.cli;

import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultException;
import dev.brokerctl.vault.crypto.KdfParams;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs the real {@code bin/brokerctl} launcher (and so the shaded jar built by {@code package})
 * in a temporary home. Every byte a run printed is kept in {@link #transcript} so tests can
 * check that no canary value ever reached the user's screen.
 */
final class Brokerctl {

    record Result(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static final String PASSPHRASE = "correct horse battery staple";

    final Path launcher;
    final Path home;
    final Path passphraseFile;
    final Map<String, String> env = new HashMap<>();
    final StringBuilder transcript = new StringBuilder();
    /** Put before every command this runs or starts (see {@link #as}); empty: as this JVM's user. */
    private List<String> asUser = List.of();
    /** Put before {@link #asUser} (see {@link #runWrapped}): a mount namespace, a cgroup, as root. */
    private List<String> outer = List.of();
    private Unprivileged owner;

    Brokerctl(Path tmp) throws IOException {
        this(tmp, Path.of(System.getProperty("brokerctl.launcher", "../bin/brokerctl")));
    }

    /** With another copy of the launcher (an install of the test user's own, say). */
    Brokerctl(Path tmp, Path launcher) throws IOException {
        this.launcher = launcher.toAbsolutePath().normalize();
        home = tmp.resolve("home");
        passphraseFile = tmp.resolve("passphrase");
        Files.writeString(passphraseFile, PASSPHRASE + "\n");
        env.put("PATH", System.getenv("PATH"));
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("BROKERCTL_HOME", home.toString());
        env.put("BROKERCTL_PASSPHRASE_FILE", passphraseFile.toString());
        env.put("TMPDIR", tmp.toString());
    }

    /**
     * Runs every later command as {@code user}, and gives it this instance's files (home,
     * passphrase file and the temporary directory they are in).
     */
    Brokerctl as(Unprivileged user) {
        user.own(home.getParent());
        user.assertCanRead(launcher, passphraseFile);   // its directories must let the user through
        asUser = user.prefix();
        owner = user;
        return this;
    }

    /**
     * A vault with light KDF parameters (the KDF cost is not what these tests are about), made in
     * this JVM through the test-only switch, which {@code brokerctl init} does not offer. The real
     * {@code init} with the default KDF runs in {@code CliIT.init_withTheDefaultKdf}.
     */
    Brokerctl init() {
        try {
            Vault.create(home.resolve("vault.db"), PASSPHRASE.toCharArray(), KdfParams.insecureForTests(1024, 1, 1));
        } catch (VaultException e) {
            throw new AssertionError("creating the test vault failed: " + e.getMessage(), e);
        }
        if (owner != null) {
            owner.own(home.getParent());   // made by this JVM: hand it to the user the commands run as
        }
        return this;
    }

    Result run(String... args) {
        return runWithInput(null, args);
    }

    Result runWithInput(byte[] stdin, String... args) {
        return runIn(launcher.getParent(), launcher.toString(), stdin, args);
    }

    /** Runs one command under {@code wrapper} (run as this JVM's user), which then execs the rest. */
    Result runWrapped(List<String> wrapper, String... args) {
        outer = wrapper;
        try {
            return run(args);
        } finally {
            outer = List.of();
        }
    }

    Result runIn(Path cwd, String program, byte[] stdin, String... args) {
        List<String> cmd = new ArrayList<>(outer);
        cmd.addAll(asUser);
        cmd.add(program);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Thread errPump = new Thread(() -> pump(p.getErrorStream(), err), "stderr-pump");
            errPump.start();
            try (OutputStream in = p.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin);
                }
            }
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("brokerctl " + String.join(" ", args) + " did not exit");
            }
            errPump.join();
            Result r = new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8));
            transcript.append(r.out()).append(r.err());
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * The daemon's socket for this home: {@link #env} sets neither BROKERCTL_SOCKET nor
     * XDG_RUNTIME_DIR, so it is {@code $BROKERCTL_HOME/run/brokerd.sock}.
     */
    Path socket() {
        return home.resolve("run").resolve("brokerd.sock");
    }

    /**
     * A raw approver connection, as {@code brokerctl approve} makes it: the keyslot opened here
     * with the passphrase, then the handshake (the daemon proves itself first), then sealed.
     */
    dev.brokerctl.protocol.BrokerClient approver(String name) throws Exception {
        byte[] key;
        try (dev.brokerctl.vault.ApproverKeys k = Vault.open(home.resolve("vault.db")).approverKeys(PASSPHRASE.toCharArray())) {
            key = k.approverKey();
        }
        dev.brokerctl.protocol.BrokerClient c = dev.brokerctl.protocol.BrokerClient.connect(socket(),
                java.util.Map.of("name", name));
        c.authenticate(dev.brokerctl.protocol.Handshake.Role.APPROVER, key, new java.security.SecureRandom()).zero();
        java.util.Arrays.fill(key, (byte) 0);
        return c;
    }

    /** The running daemon's pid, from {@code brokerctl status --json}. */
    long daemonPid() {
        Result status = run("status", "--json");
        if (status.exit() != 0) {
            throw new AssertionError("status failed: " + status);
        }
        try {
            long pid = dev.brokerctl.protocol.Message.parse(status.out().trim().getBytes(StandardCharsets.UTF_8))
                    .number("pid", -1);
            if (pid <= 0) {
                throw new AssertionError("no pid in: " + status.out());
            }
            return pid;
        } catch (dev.brokerctl.protocol.BrokerException e) {
            throw new AssertionError("status --json printed no JSON: " + status.out(), e);
        }
    }

    /** Starts brokerctl in the background; see {@link Spawned}. */
    Spawned start(String... args) {
        return start(null, true, args);
    }

    /**
     * Starts brokerctl in the background with {@code stdin} (null: none) and, unless
     * {@code keepStdout}, stdout counted but not kept.
     */
    Spawned start(byte[] stdin, boolean keepStdout, String... args) {
        List<String> cmd = new ArrayList<>(asUser);
        cmd.add(launcher.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(launcher.getParent().toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        return Spawned.start(pb, "brokerctl " + args[0], transcript, keepStdout, stdin);
    }

    /**
     * Runs brokerctl as another user ({@code setpriv}, so root only), with {@link #env} as its whole
     * environment, in the parent of {@link #home}.
     */
    Result runAs(int uid, String... args) {
        List<String> all = new ArrayList<>(List.of("--reuid=" + uid, "--regid=" + uid, "--clear-groups",
                launcher.toString()));
        all.addAll(List.of(args));
        return runIn(home.getParent(), "/usr/bin/setpriv", null, all.toArray(String[]::new));
    }

    private static void pump(InputStream in, ByteArrayOutputStream to) {
        try {
            in.transferTo(to);
        } catch (IOException ignored) {
            // the process ended
        }
    }

    /** Deletes {@code dir} and everything below it (a test's scratch home, made by root or the test user). */
    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}

package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * The uid attack tests run as. Root bypasses exactly what they probe (file modes, ptrace,
 * {@code /proc/PID/mem}), so as root (CI) commands run as {@value #USER} through {@code setpriv},
 * the user created when missing; as any other uid (a developer's own) they run as they are.
 */
final class Unprivileged {

    static final String USER = "brokerctl-test";

    private static Unprivileged instance;

    final String name;
    final int uid;
    final int gid;
    private final List<String> prefix;

    private Unprivileged(String name, int uid, int gid, List<String> prefix) {
        this.name = name;
        this.uid = uid;
        this.gid = gid;
        this.prefix = prefix;
    }

    /** The test user: this JVM's own uid unless it is root, else {@value #USER}. */
    static synchronized Unprivileged user() {
        if (instance == null) {
            int me = Integer.parseInt(output("id", "-u"));
            if (me != 0) {
                instance = new Unprivileged(System.getProperty("user.name"), me,
                        Integer.parseInt(output("id", "-g")), List.of());
            } else {
                ensureUser();
                int uid = Integer.parseInt(output("id", "-u", USER));
                int gid = Integer.parseInt(output("id", "-g", USER));
                instance = new Unprivileged(USER, uid, gid, List.of("setpriv", "--reuid=" + uid,
                        "--regid=" + gid, "--init-groups", "--"));
            }
        }
        return instance;
    }

    /** True when commands switch to another uid (this JVM is root). */
    boolean switches() {
        return !prefix.isEmpty();
    }

    /** What to put before a command to run it as this user; empty when it is this JVM's own uid. */
    List<String> prefix() {
        return prefix;
    }

    /** {@code command} as this user. */
    List<String> command(String... command) {
        List<String> all = new ArrayList<>(prefix);
        all.addAll(List.of(command));
        return all;
    }

    /** A new private (0700) directory under /tmp owned by this user: a test home must be its own. */
    Path newDirectory(String namePrefix) throws IOException {
        Path dir = Files.createTempDirectory(Path.of("/tmp"), namePrefix,
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        own(dir);
        return dir;
    }

    /** Gives everything under {@code tree} to this user (when this JVM is root). */
    void own(Path tree) {
        if (switches()) {
            run("chown", "-R", uid + ":" + gid, tree.toString());
        }
    }

    /** Gives a symbolic link itself (not its target) to this user. */
    void ownLink(Path link) {
        if (switches()) {
            run("chown", "-h", uid + ":" + gid, link.toString());
        }
    }

    /** Fails unless this user can read (and so run) each file: the built jars, the launcher. */
    void assertCanRead(Path... files) {
        for (Path f : files) {
            List<String> test = command("test", "-r", f.toString());
            assertEquals(0, exit(test), f + " is not readable by user " + name + ": every directory"
                    + " above it must be world-traversable (o+x) and the file world-readable");
        }
    }

    private static void ensureUser() {
        if (exit(List.of("id", "-u", USER)) == 0) {
            return;
        }
        // A system user with a home (JNA and the JVM want one) and no login shell; another test
        // JVM may create it at the same time, so only its existence afterwards counts.
        exit(List.of("useradd", "--system", "--create-home", "--shell", "/usr/sbin/nologin", USER));
        if (exit(List.of("id", "-u", USER)) != 0) {
            throw new AssertionError("cannot create the test user " + USER + " (useradd --system --create-home)");
        }
    }

    private static void run(String... command) {
        assertEquals(0, exit(List.of(command)), String.join(" ", command));
    }

    private static int exit(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static String output(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (p.waitFor() != 0) {
                throw new AssertionError(String.join(" ", command) + " failed");
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}

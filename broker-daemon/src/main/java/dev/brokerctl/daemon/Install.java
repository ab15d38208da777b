package dev.brokerctl.daemon;

import dev.brokerctl.protocol.Message;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Which parts of the brokerctl install this user could rewrite: its jar (and the jar's
 * directory, where the AppCDS archives sit) and its launcher. Verifying native libraries against
 * hashes recorded in the jar helps only while the jar itself is out of an agent's reach, so the
 * daemon logs this at start and {@code status} shows it; the fix is a root-owned prefix.
 */
final class Install {

    private Install() {
    }

    /** The writable paths, empty when the install is out of this user's reach (or unknown). */
    static List<String> writableByUser() {
        List<String> writable = new ArrayList<>();
        Path jar = ownJar();
        if (jar == null) {
            return writable;
        }
        Path launcher = launcherFor(jar);
        for (Path p : launcher == null ? List.of(jar, jar.getParent()) : List.of(jar, jar.getParent(), launcher)) {
            if (p != null && Files.exists(p) && Files.isWritable(p)) {
                writable.add(p.toString());
            }
        }
        return writable;
    }

    static Message addTo(Message status) {
        return status.with("install_writable", writableByUser());
    }

    /** One line for the log. */
    static String describe() {
        List<String> w = writableByUser();
        return w.isEmpty() ? "install: the jar and launcher are not writable by this user"
                : "install: writable by this user, so an agent of this user could replace brokerctl itself: "
                        + String.join(", ", w) + "; install it under a root-owned prefix (README, 'Install')";
    }

    private static Path ownJar() {
        try {
            Path p = Path.of(Install.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isRegularFile(p) ? p : null;
        } catch (Exception e) {
            return null;
        }
    }

    /** {@code PREFIX/lib/brokerctl.jar} → {@code PREFIX/bin/brokerctl}; in a build tree {@code cli/target/} → {@code bin/}. */
    private static Path launcherFor(Path jar) {
        Path dir = jar.getParent();
        if (dir == null || dir.getParent() == null) {
            return null;
        }
        Path sibling = dir.getParent().resolve("bin").resolve("brokerctl");
        if (Files.exists(sibling)) {
            return sibling;
        }
        Path tree = dir.getParent().getParent();
        return tree == null ? null : tree.resolve("bin").resolve("brokerctl");
    }
}

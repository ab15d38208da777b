package dev.brokerctl.containment;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Where bubblewrap is, and how to get it: the one tool containment is built on. */
public final class Bwrap {

    /** What a user is told when bwrap is missing. */
    public static final String INSTALL = "sudo apt-get install bubblewrap   (Debian/Ubuntu; Fedora: sudo dnf install bubblewrap)";

    private Bwrap() {
    }

    /** The bwrap executable: /usr/bin/bwrap, else the first on {@code path}. */
    public static Optional<Path> find(String path) {
        Path usual = Path.of("/usr/bin/bwrap");
        if (Files.isExecutable(usual)) {
            return Optional.of(usual);
        }
        if (path != null) {
            for (String dir : path.split(":")) {
                if (!dir.isEmpty() && dir.startsWith("/")) {
                    Path p = Path.of(dir, "bwrap");
                    if (Files.isExecutable(p)) {
                        return Optional.of(p);
                    }
                }
            }
        }
        return Optional.empty();
    }
}

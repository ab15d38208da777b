package dev.brokerctl.containment;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The sandbox's network. Abstract Unix sockets (X11's {@code @/tmp/.X11-unix/X0}, a D-Bus bus)
 * belong to the network namespace, so only a namespace of its own makes them unreachable; pasta
 * (Debian package {@code passt}) gives that namespace user-mode networking, so the agent keeps
 * internet access.
 */
public enum Network {
    /** Own network namespace with user-mode networking through pasta: internet yes, abstract sockets no. */
    PASTA,
    /** Own network namespace with only loopback: no network at all. */
    NONE,
    /** The host's network namespace: abstract Unix sockets stay reachable. Only a fallback. */
    HOST;

    /** What to tell a user when pasta is missing. */
    public static final String INSTALL_PASTA = "sudo apt-get install passt   (Debian/Ubuntu; Fedora: sudo dnf install passt)";

    /** The choice made, pasta's path when it is PASTA, and a note for stderr when it is a fallback. */
    public record Choice(Network network, Path pasta, String note) {
    }

    /**
     * {@code --no-net}: NONE. Else PASTA when pasta is installed and can open {@code /dev/net/tun}
     * (it must, inside its namespace); else NONE in strict and HOST in default, with a note.
     */
    public static Choice choose(boolean noNet, boolean strict, String path) {
        if (noNet) {
            return new Choice(NONE, null, null);
        }
        Optional<Path> pasta = find(path);
        String why;
        if (pasta.isEmpty()) {
            why = "pasta is not installed (install it with: " + INSTALL_PASTA + ")";
        } else if (isRoot()) {
            why = "pasta does not run as root";
        } else if (!tunUsable()) {
            why = "pasta cannot open /dev/net/tun (mode " + tunMode() + "; a Debian host has 0666: sudo chmod 0666 /dev/net/tun)";
        } else {
            return new Choice(PASTA, pasta.get(), null);
        }
        if (strict) {
            return new Choice(NONE, null, "brokerctl sandbox: " + why + "; strict profile: no network at all");
        }
        return new Choice(HOST, null, "brokerctl sandbox: " + why + "; the sandbox SHARES THE HOST NETWORK:"
                + " abstract Unix sockets (X11, D-Bus) stay reachable from inside; --no-net closes them");
    }

    /** pasta's arguments up to and including the {@code --} before the command it starts. */
    static java.util.List<String> pastaArguments(Path pasta, boolean strict) {
        java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of(pasta.toString(), "--config-net",
                "--quiet", "--foreground"));
        if (strict) {
            // no port forwarding either way and no route to the host's loopback services
            a.addAll(java.util.List.of("-t", "none", "-u", "none", "-T", "none", "-U", "none", "--no-map-gw"));
        }
        a.add("--");
        return a;
    }

    static Optional<Path> find(String path) {
        for (String dir : ("/usr/bin:/usr/sbin:/bin" + (path == null ? "" : ":" + path)).split(":")) {
            if (!dir.isEmpty() && dir.startsWith("/")) {
                Path p = Path.of(dir, "pasta");
                if (Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    private static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }

    private static boolean tunUsable() {
        Path tun = Path.of("/dev/net/tun");
        return Files.isReadable(tun) && Files.isWritable(tun);
    }

    private static String tunMode() {
        try {
            return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of("/dev/net/tun")));
        } catch (java.io.IOException | UnsupportedOperationException e) {
            return "missing";
        }
    }
}

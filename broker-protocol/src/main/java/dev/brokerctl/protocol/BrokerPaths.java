package dev.brokerctl.protocol;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where brokerctl keeps its files. Home is {@code $BROKERCTL_HOME}, else
 * {@code $XDG_DATA_HOME/brokerctl}, else {@code ~/.local/share/brokerctl}.
 */
public final class BrokerPaths {

    /** sun_path holds 108 bytes including the terminating NUL. */
    public static final int MAX_SOCKET_PATH_BYTES = 107;

    private final Path home;
    private final Path socket;

    private BrokerPaths(Path home, Path socket) {
        this.home = home;
        this.socket = socket;
    }

    /** Paths from the process environment. */
    public static BrokerPaths fromEnvironment() {
        return from(System.getenv(), System.getProperty("user.home"));
    }

    static BrokerPaths from(Map<String, String> env, String userHome) {
        Path home;
        String explicit = env.get("BROKERCTL_HOME");
        String xdg = env.get("XDG_DATA_HOME");
        if (explicit != null && !explicit.isEmpty()) {
            home = Path.of(explicit).toAbsolutePath();
        } else if (xdg != null && !xdg.isEmpty() && Path.of(xdg).isAbsolute()) {
            home = Path.of(xdg, "brokerctl");
        } else {
            home = Path.of(userHome, ".local", "share", "brokerctl");
        }
        Path socket;
        String explicitSocket = env.get("BROKERCTL_SOCKET");
        String runtime = env.get("XDG_RUNTIME_DIR");
        if (explicitSocket != null && !explicitSocket.isEmpty()) {
            socket = Path.of(explicitSocket).toAbsolutePath();
        } else if (explicit == null && runtime != null && !runtime.isEmpty() && Path.of(runtime).isAbsolute()) {
            // a home chosen with BROKERCTL_HOME gets its own daemon, not the user's default one
            socket = Path.of(runtime, "brokerctl", "brokerd.sock");
        } else {
            socket = home.resolve("run").resolve("brokerd.sock");
        }
        return new BrokerPaths(home, socket);
    }

    /** The daemon's socket: {@code $BROKERCTL_SOCKET}, the runtime dir, or {@code home/run}. */
    public Path socket() {
        return socket;
    }

    /** The same home with another socket (the demo's private daemon). */
    public BrokerPaths withSocket(Path otherSocket) {
        return new BrokerPaths(home, otherSocket);
    }

    /** The daemon's log file. */
    public Path daemonLog() {
        return home.resolve("brokerd.log");
    }

    public Path home() {
        return home;
    }

    public Path vaultFile() {
        return home.resolve("vault.db");
    }

    @Override
    public String toString() {
        return "BrokerPaths[" + home + "]";
    }
}

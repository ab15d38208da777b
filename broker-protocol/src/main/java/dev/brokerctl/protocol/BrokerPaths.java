package dev.brokerctl.protocol;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where brokerctl keeps its files. Home is {@code $BROKERCTL_HOME}, else
 * {@code $XDG_DATA_HOME/brokerctl}, else {@code ~/.local/share/brokerctl}.
 */
public final class BrokerPaths {

    private final Path home;

    private BrokerPaths(Path home) {
        this.home = home;
    }

    /** Paths from the process environment. */
    public static BrokerPaths fromEnvironment() {
        return from(System.getenv(), System.getProperty("user.home"));
    }

    static BrokerPaths from(Map<String, String> env, String userHome) {
        String explicit = env.get("BROKERCTL_HOME");
        if (explicit != null && !explicit.isEmpty()) {
            return new BrokerPaths(Path.of(explicit).toAbsolutePath());
        }
        String xdg = env.get("XDG_DATA_HOME");
        if (xdg != null && !xdg.isEmpty() && Path.of(xdg).isAbsolute()) {
            return new BrokerPaths(Path.of(xdg, "brokerctl"));
        }
        return new BrokerPaths(Path.of(userHome, ".local", "share", "brokerctl"));
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

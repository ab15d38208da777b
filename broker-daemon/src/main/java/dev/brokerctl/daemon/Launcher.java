package dev.brokerctl.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * How an approved command is started, signalled and ended: in a PID namespace of its own that
 * dies with it and with the daemon ({@link NamespaceLauncher}), or, where none can be made, in a
 * process group of its own ({@link GroupLauncher}, "runs not contained").
 */
interface Launcher {

    /**
     * Starts {@code argv} (argv[0] an absolute path) configured by {@code pb}'s cwd and environment;
     * {@code hostFileSystem}: the environment's run profile is {@code host}.
     */
    Process start(ProcessBuilder pb, List<String> argv, Path cwd, boolean hostFileSystem) throws IOException;

    /** Forwards a signal (SIGINT, SIGTERM, ...) to the command, as a terminal would to its job. */
    void signal(Process p, int signal);

    /** Ends the command and everything it started; idempotent. */
    void kill(Process p);

    /** True when nothing a run starts can outlive it or the daemon. */
    boolean contained();

    /** For status, consoles and the log: how runs are started, or why they are not contained. */
    String description();

    /**
     * A PID namespace per run when bubblewrap is there and works for this user (tried once, as
     * {@code brokerctl doctor} does: user namespaces may be disabled), else a process group per
     * run, saying why and what fixes it.
     */
    static Launcher forThisHost(Spawner spawner, Path home, Path brokerHome) {
        dev.brokerctl.containment.RunContainment c = dev.brokerctl.containment.HostProbe.system().runContainment();
        if (c.contained()) {
            return new NamespaceLauncher(c.bwrap().orElseThrow(), spawner,
                    cwd -> dev.brokerctl.containment.RunFileSystem.arguments(home, brokerHome, cwd));
        }
        return new GroupLauncher(spawner, c.reason() + (c.fix().isEmpty() ? "" : "; fix: " + c.fix()));
    }
}

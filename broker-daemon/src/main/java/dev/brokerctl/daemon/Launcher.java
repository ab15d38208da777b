package dev.brokerctl.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * How an approved command is started, signalled and ended: in a PID namespace of its own that
 * dies with it and with the daemon ({@link NamespaceLauncher}); where none can be made, in a
 * cgroup of its own if the daemon's cgroup is delegated ({@link CgroupLauncher}), else in a process
 * group of its own ({@link GroupLauncher}); both "runs not contained".
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

    /** Called once the daemon holds its socket's lock, before the first run. */
    default void open(Path socket) {
    }

    /** Called when the daemon stops, after its runs were ended. */
    default void close() {
    }

    /** True when nothing a run starts can outlive it or the daemon. */
    boolean contained();

    /** For status, consoles and the log: how runs are started, or why they are not contained. */
    String description();

    /**
     * A PID namespace per run when bubblewrap is there and works for this user (tried once, as
     * {@code brokerctl doctor} does: user namespaces may be disabled), else a cgroup per run when
     * the daemon's cgroup is delegated, else a process group per run, saying why and what fixes it.
     */
    static Launcher forThisHost(Spawner spawner, Path home, Path brokerHome) {
        dev.brokerctl.containment.HostProbe probe = dev.brokerctl.containment.HostProbe.system();
        dev.brokerctl.containment.RunContainment c = probe.runContainment();
        if (c.contained()) {
            return new NamespaceLauncher(c.bwrap().orElseThrow(), spawner,
                    cwd -> dev.brokerctl.containment.RunFileSystem.arguments(home, brokerHome, cwd));
        }
        String why = c.reason() + (c.fix().isEmpty() ? "" : "; fix: " + c.fix());
        dev.brokerctl.containment.RunCgroup g = probe.runCgroup();
        if (g.dir().isPresent()) {
            try {
                return new CgroupLauncher(spawner, g.dir().get(), why);
            } catch (IOException e) {
                return new GroupLauncher(spawner, why + "; no cgroup fallback: " + e.getMessage());
            }
        }
        return new GroupLauncher(spawner, why + "; no cgroup fallback: " + g.reason()
                + (g.fix().isEmpty() ? "" : " (" + g.fix() + ")"));
    }
}

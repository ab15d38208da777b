package dev.brokerctl.daemon;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Starting a command in its own process group and killing that group. The command is started
 * through {@code setsid(1)}, which (the JVM's child not being a group leader) calls setsid() and
 * execs the command in place: same pid, and pgid = pid. Killing {@code -pgid} then reaches every
 * process the command started, even ones whose parent already exited. Without setsid or libc the
 * fallback walks {@link ProcessHandle#descendants()}, which misses orphans.
 */
final class ProcessTree {

    private static final Path SETSID = findSetsid();

    private ProcessTree() {
    }

    private static Path findSetsid() {
        for (String p : List.of("/usr/bin/setsid", "/bin/setsid")) {
            Path path = Path.of(p);
            if (Files.isExecutable(path)) {
                return path;
            }
        }
        return null;
    }

    /** True when runs get their own process group. */
    static boolean groupsAvailable() {
        return SETSID != null && Posix.available();
    }

    /** The argv to start: {@code setsid EXE ARGS...} when groups are available. */
    static List<String> wrap(List<String> argv) {
        if (!groupsAvailable()) {
            return argv;
        }
        List<String> out = new java.util.ArrayList<>(argv.size() + 1);
        out.add(SETSID.toString());
        out.addAll(argv);
        return out;
    }

    /**
     * Signals the process's whole group. Not {@link Process#destroyForcibly()} when the group can
     * be signalled: it also closes the process's pipes, which loses output the pumps have not read
     * yet (seen: a run's last lines missing when the group was killed right after exit).
     */
    static void kill(Process p, int signal) {
        if (groupsAvailable()) {
            // Right after the start, setsid may not have made the group yet: then the process
            // itself gets the signal (it was lost before, and the run went on for its full length).
            // Not once the JDK has reaped it: its pid may be another process's by then.
            if (!Posix.killGroup(p.pid(), signal) && p.isAlive()) {
                Posix.kill(p.pid(), signal);
            }
            return;
        }
        if (signal == Posix.SIGKILL) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        } else if (signal == Posix.SIGTERM && p.isAlive()) {
            p.destroy();
        }
    }
}

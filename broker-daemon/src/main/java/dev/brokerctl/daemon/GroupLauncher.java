package dev.brokerctl.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The fallback: the command in a process group of its own ({@link ProcessTree}), killed as a
 * group. A process that leaves the group ({@code setsid}) or a daemon killed with SIGKILL leaves
 * it running: not contained, and said so.
 */
final class GroupLauncher implements Launcher {

    private final Spawner spawner;
    private final String why;

    GroupLauncher(Spawner spawner, String why) {
        this.spawner = spawner;
        this.why = why;
    }

    @Override
    public Process start(ProcessBuilder pb, List<String> argv, Path cwd, boolean hostFileSystem) throws IOException {
        pb.command(ProcessTree.wrap(argv));
        return spawner.start(pb);
    }

    @Override
    public void signal(Process p, int signal) {
        ProcessTree.kill(p, signal);
    }

    @Override
    public void kill(Process p) {
        ProcessTree.kill(p, Posix.SIGKILL);
    }

    @Override
    public boolean contained() {
        return false;
    }

    @Override
    public String description() {
        return "runs not contained (" + why + "): each run has its own process group, but what leaves it"
                + " (setsid, a daemon killed with SIGKILL) keeps running with the values";
    }
}

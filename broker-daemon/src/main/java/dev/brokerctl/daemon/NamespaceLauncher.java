package dev.brokerctl.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Every approved command in a PID namespace of its own, under bubblewrap: when the command exits,
 * the namespace's init exits and the kernel kills everything left in it ({@code setsid}, double
 * forks included); {@code --die-with-parent} kills it when the daemon dies, even by SIGKILL.
 * PR_SET_PDEATHSIG fires when the <em>thread</em> that forked bwrap exits, so bwrap is started from
 * the {@link Spawner}'s one long-lived thread, never a pooled one that idles out.
 *
 * <p>bwrap itself dies of SIGTERM and SIGINT; a forwarded signal therefore goes to the processes
 * inside only (as a terminal's would to its foreground job), so the command's own exit status
 * comes back. Ending a run kills bwrap's process group, and with it the namespace.
 */
final class NamespaceLauncher implements Launcher {

    private final Path bwrap;
    private final Spawner spawner;
    /** The file-system part of bwrap's command line for a run in {@code cwd} ({@code sandbox} profile), {@code --chdir} included. */
    private final Function<Path, List<String>> fileSystem;

    NamespaceLauncher(Path bwrap, Spawner spawner, Function<Path, List<String>> fileSystem) {
        this.bwrap = bwrap;
        this.spawner = spawner;
        this.fileSystem = fileSystem;
    }

    @Override
    public Process start(ProcessBuilder pb, List<String> argv, Path cwd, boolean hostFileSystem) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.addAll(ProcessTree.wrap(List.of(bwrap.toString())));   // bwrap leads a process group of its own
        cmd.addAll(List.of("--unshare-pid", "--die-with-parent"));
        cmd.addAll(hostFileSystem ? List.of("--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--chdir", cwd.toString())
                : fileSystem.apply(cwd));
        cmd.add("--");
        cmd.addAll(argv);
        pb.command(cmd);
        return spawner.start(pb);
    }

    /**
     * A command not forked yet (the signal came right after the start) has no process to signal:
     * then bwrap's group gets it, as a terminal's job would, and the run ends with 128+N.
     */
    @Override
    public void signal(Process p, int signal) {
        List<ProcessHandle> inside = p.descendants()
                .filter(h -> !h.info().command().map(c -> c.equals(bwrap.toString())).orElse(true)).toList();
        if (inside.isEmpty()) {
            ProcessTree.kill(p, signal);
            return;
        }
        inside.forEach(h -> Posix.kill(h.pid(), signal));
    }

    @Override
    public void kill(Process p) {
        ProcessTree.kill(p, Posix.SIGKILL);
    }

    @Override
    public boolean contained() {
        return true;
    }

    @Override
    public String description() {
        return "runs contained: each in its own PID namespace (bwrap), gone with the run and with the daemon;"
                + " shell start-up files, hooks and agents' settings read-only, the broker home and credential"
                + " stores hidden";
    }
}

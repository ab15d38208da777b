package dev.brokerctl.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 *
 * <p>bwrap exits as soon as the command does; the namespace's init, left behind, then dies of
 * SIGKILL and takes the namespace's last processes with it, a moment later. So that a run is over
 * only once nothing of it is left, the daemon is a child subreaper: that init becomes its child
 * when bwrap exits, and {@link #kill} waits for it (the kernel empties a PID namespace before its
 * init's exit is reported). Without that (no prctl, no process groups), the namespace still dies,
 * just not before the exit is reported.
 *
 * <p>That wait is bounded ({@link #END_WAIT}): a process that cannot die (uninterruptible sleep on
 * a dead NFS server, or a same-user FUSE server that never answers) keeps its namespace, and so
 * the init, alive; the run then ends anyway, said in the log, rather than hold up its exit, the
 * audit entry, the idle lock or {@code brokerctl stop}. Each wait blocks a thread of its own.
 */
final class NamespaceLauncher implements Launcher {

    private static final Logger LOG = LoggerFactory.getLogger(NamespaceLauncher.class);
    /** How long the end of a run waits for its namespace to be empty. */
    static final Duration END_WAIT = Duration.ofSeconds(2);
    /** A thread per wait: one stuck in waitid (a namespace that cannot empty) holds up no other. */
    private static final Executor REAPERS = task -> {
        Thread t = new Thread(task, "namespace-reaper");
        t.setDaemon(true);
        t.start();
    };

    private final Path bwrap;
    private final Spawner spawner;
    /** The file-system part of bwrap's command line for a run in {@code cwd} ({@code sandbox} profile), {@code --chdir} included. */
    private final Function<Path, List<String>> fileSystem;
    /** This daemon adopts the namespaces' inits left behind by bwrap (see the class comment). */
    private volatile boolean adopting;
    /**
     * Per run: done once its namespace's init was reaped, and then kept (weakly, until the run's
     * Process is gone) so that {@link #kill} sends nothing to a group id that may be reused.
     */
    private final Map<Process, CompletableFuture<Void>> inits = Collections.synchronizedMap(new WeakHashMap<>());
    /** In {@link #inits} for a run whose namespace did not empty within {@code endWait}. */
    private static final CompletableFuture<Void> GIVEN_UP = CompletableFuture.completedFuture(null);
    /** Reaps the init left in a group ({@link Posix#reapOneOfGroup}; tests stand in for it). */
    private final LongPredicate reaper;
    private final Duration endWait;

    NamespaceLauncher(Path bwrap, Spawner spawner, Function<Path, List<String>> fileSystem) {
        this(bwrap, spawner, fileSystem, Posix::reapOneOfGroup, END_WAIT);
    }

    NamespaceLauncher(Path bwrap, Spawner spawner, Function<Path, List<String>> fileSystem,
            LongPredicate reaper, Duration endWait) {
        this.bwrap = bwrap;
        this.spawner = spawner;
        this.fileSystem = fileSystem;
        this.reaper = reaper;
        this.endWait = endWait;
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
        Process p = spawner.start(pb);
        synchronized (inits) {   // with close(): a run started as the daemon stops is waited for too
            if (adopting) {
                // one wait per run, whoever ends it and however: after the JDK reaped bwrap (onExit)
                long pgid = p.pid();
                inits.put(p, p.onExit().thenRunAsync(() -> reaper.test(pgid), REAPERS));
            }
        }
        return p;
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
    public void open(Path socket) {
        adopting = ProcessTree.groupsAvailable() && Posix.setChildSubreaper(true);
    }

    /** The runs were ended: waits (5 s at most) until their namespaces' inits were reaped. */
    @Override
    public void close() {
        CompletableFuture<?>[] ending;
        synchronized (inits) {
            if (!adopting) {
                return;
            }
            adopting = false;
            ending = inits.values().stream().filter(f -> !f.isDone()).toArray(CompletableFuture[]::new);
        }
        try {
            CompletableFuture.allOf(ending).get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("{} run(s) still ending as the daemon stops", ending.length);
        }
        Posix.setChildSubreaper(false);
    }

    /**
     * Kills bwrap's group; once bwrap was reaped, the group only (never bwrap's pid, which may be
     * another process's by then), and nothing once the init was reaped too. Then waits, once per
     * run and at most {@code endWait}, until that init was reaped, which the kernel reports only
     * after everything in the namespace is gone. The wait is on bwrap's group, made after the JDK
     * reaped bwrap (before, it could reap bwrap itself under the JDK's feet). A run whose namespace
     * did not empty in time is given up on: later calls neither signal nor wait.
     */
    @Override
    public void kill(Process p) {
        CompletableFuture<Void> gone = inits.get(p);
        if (gone != null && gone.isDone()) {
            return;
        }
        if (p.isAlive()) {
            ProcessTree.kill(p, Posix.SIGKILL);
        } else if (ProcessTree.groupsAvailable()) {
            // its group only, never the pid alone (which may be another process's by now); while
            // the init lives the group holds the id. It is needed: an init forked just as bwrap died
            // of a signal can miss --die-with-parent's SIGKILL (aSignalRightAfterTheStart_isNeverLost)
            Posix.killGroup(p.pid(), Posix.SIGKILL);
        }
        if (gone != null && !p.isAlive()) {
            try {
                gone.get(endWait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                inits.replace(p, gone, GIVEN_UP);
                LOG.warn("the namespace of a run (bwrap {}) is not empty {} ms after its end: a process in it"
                        + " does not die (uninterruptible sleep, a hung mount?); the run ends anyway", p.pid(),
                        endWait.toMillis());
            }
        }
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

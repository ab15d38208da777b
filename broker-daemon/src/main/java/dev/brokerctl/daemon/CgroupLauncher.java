package dev.brokerctl.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fallback where no PID namespace can be made but the daemon's cgroup v2 is delegated to its
 * user: every run in a cgroup of its own, {@code DELEGATED/brokerctl-PID/run-N}, killed whole
 * through {@code cgroup.kill} when the run ends, so what the command started goes with it even
 * after {@code setsid} or a double fork. The daemon records its runs' cgroup beside its socket
 * lock; the next daemon on that socket kills what a daemon killed with SIGKILL left there.
 *
 * <p>A process is placed in a cgroup when it is forked: the spawner's thread moves the whole
 * daemon into the run's cgroup, forks, and moves it back before anything else is started (there is
 * no clone3 CLONE_INTO_CGROUP in Java, and moving the child after the fork would race with its
 * own forks). No controller is enabled, so that is allowed in cgroup v2 and cheap. A cgroup the
 * daemon itself is in is never killed.
 *
 * <p>Weaker than a namespace, and said so: the cgroups are the user's own, so a run can move itself
 * out of its cgroup, and runs outlive a daemon killed with SIGKILL until the next one starts.
 * Signals still go to the run's process group ({@link ProcessTree}), as in {@link GroupLauncher}.
 */
final class CgroupLauncher implements Launcher {

    private static final Logger LOG = LoggerFactory.getLogger(CgroupLauncher.class);
    private static final Pattern OURS = Pattern.compile("brokerctl-\\d+");
    private static final Pattern RUN = Pattern.compile("run-\\d+");

    private final Spawner spawner;
    /** The delegated cgroup the daemon is in, and returns to after every fork. */
    private final Path home;
    /** {@code home/brokerctl-PID}: this daemon's runs' cgroups. */
    private final Path runs;
    /** {@code home} as /proc/self/cgroup names it. */
    private final String homeRel;
    private final String why;
    private final AtomicLong next = new AtomicLong();
    private final Map<Process, Path> byProcess = new ConcurrentHashMap<>();
    private Path record;
    /** Why the cgroups cannot be used after all ({@code null}: they can). */
    private volatile String broken;

    CgroupLauncher(Spawner spawner, Path delegated, String why) throws IOException {
        this.spawner = spawner;
        this.homeRel = currentCgroup().orElseThrow(() -> new IOException("cannot read /proc/self/cgroup"));
        this.home = delegated;
        this.runs = delegated.resolve("brokerctl-" + ProcessHandle.current().pid());
        this.why = why;
    }

    /**
     * With the socket's lock held: kills what the previous daemon on this socket left in its runs'
     * cgroups, then makes this daemon's and records it. If that fails, runs get a process group
     * only, and {@link #description()} says why.
     */
    @Override
    public void open(Path socket) {
        record = socket.resolveSibling(socket.getFileName() + ".cgroup");
        previous(record).ifPresent(old -> {
            int killed = killAll(old);
            LOG.warn("killed {} process(es) a previous daemon's runs left in {}", killed, old);
        });
        try {
            Files.createDirectories(runs);
            Files.writeString(record, runs + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            broken = "cannot make " + runs + ": " + e.getMessage();
        }
    }

    /** The previous daemon's runs' cgroup from the record, if it names one of ours that is still there. */
    private Optional<Path> previous(Path rec) {
        String s;
        try {
            s = Files.readString(rec, StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            LOG.warn("cannot read {}: {}", rec, e.getMessage());
            return Optional.empty();
        }
        Path p = Path.of(s).normalize();
        if (!p.isAbsolute() || p.getFileName() == null || !OURS.matcher(p.getFileName().toString()).matches()
                || !Files.isRegularFile(p.resolve("cgroup.kill"))) {
            // (the previous daemon's pid may be this one's: then what is there is a leftover too)
            return Optional.empty();
        }
        return Optional.of(p);
    }

    @Override
    public Process start(ProcessBuilder pb, List<String> argv, Path cwd, boolean hostFileSystem) throws IOException {
        if (broken != null) {
            pb.command(ProcessTree.wrap(argv));
            return spawner.start(pb);
        }
        Path cg = runs.resolve("run-" + next.incrementAndGet());
        Files.createDirectory(cg);
        pb.command(ProcessTree.wrap(argv));
        Process p;
        try {
            p = spawner.start(() -> forkIn(cg, pb));
        } catch (IOException e) {
            remove(cg);
            throw e;
        }
        byProcess.put(p, cg);
        return p;
    }

    /** On the spawner's thread: the daemon in {@code cg} for the fork only. */
    private Process forkIn(Path cg, ProcessBuilder pb) throws IOException {
        move(cg);
        Process p = null;
        try {
            p = pb.start();
        } finally {
            try {
                move(home);
            } catch (IOException e) {
                // Never leave the daemon in a run's cgroup (killing it would kill the daemon); the
                // run is not started, and kill() will not touch a cgroup the daemon is in.
                if (p != null) {
                    ProcessTree.kill(p, Posix.SIGKILL);
                }
                throw new IOException("cannot move the daemon back to its cgroup " + home + ": " + e.getMessage());
            }
        }
        return p;
    }

    private static void move(Path cg) throws IOException {
        Files.writeString(cg.resolve("cgroup.procs"), Long.toString(ProcessHandle.current().pid()),
                StandardCharsets.US_ASCII, StandardOpenOption.WRITE);
    }

    @Override
    public void signal(Process p, int signal) {
        ProcessTree.kill(p, signal);
    }

    @Override
    public void kill(Process p) {
        ProcessTree.kill(p, Posix.SIGKILL);
        Path cg = byProcess.get(p);
        if (cg != null) {
            killCgroup(cg);
            if (remove(cg)) {
                byProcess.remove(p);
            }
        }
    }

    /** Kills everything left in every run's cgroup and removes them (daemon stopping). */
    @Override
    public void close() {
        int killed = killAll(runs);
        if (killed > 0) {
            LOG.info("killed {} process(es) left in runs' cgroups", killed);
        }
        byProcess.clear();
        try {
            if (record != null && !Files.exists(runs)) {
                Files.deleteIfExists(record);
            }
        } catch (IOException e) {
            LOG.warn("cannot remove {}: {}", record, e.getMessage());
        }
    }

    /** Kills every run cgroup under {@code dir} and removes what it can; the number of processes that were in them. */
    private int killAll(Path dir) {
        int killed = 0;
        try (DirectoryStream<Path> all = Files.newDirectoryStream(dir, p -> RUN.matcher(p.getFileName().toString()).matches())) {
            for (Path cg : all) {
                killed += processes(cg);
                killCgroup(cg);
                remove(cg);
            }
        } catch (NoSuchFileException e) {
            return 0;
        } catch (IOException e) {
            LOG.warn("cannot list {}: {}", dir, e.getMessage());
        }
        remove(dir);
        return killed;
    }

    private void killCgroup(Path cg) {
        if (daemonIsIn(cg)) {
            LOG.error("not killing {}: the daemon is in it", cg);
            return;
        }
        try {
            Files.writeString(cg.resolve("cgroup.kill"), "1", StandardCharsets.US_ASCII, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            // removed already
        } catch (IOException e) {
            LOG.warn("cannot kill cgroup {}: {}", cg, e.getMessage());
        }
    }

    /**
     * rmdir, once the killed processes are gone: a cgroup with processes cannot be removed, and the
     * kernel takes a moment to reap what {@code cgroup.kill} killed. Waits up to 200 ms; what is still
     * busy then is removed by {@link #close()} or the next daemon's sweep.
     */
    private static boolean remove(Path cg) {
        for (int i = 0; ; i++) {
            try {
                Files.deleteIfExists(cg);
                return true;
            } catch (IOException e) {
                if (i >= 200) {
                    return false;
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
    }

    private static int processes(Path cg) {
        try (InputStream in = Files.newInputStream(cg.resolve("cgroup.procs"))) {
            String s = new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
            return s.isEmpty() ? 0 : s.split("\n").length;
        } catch (IOException e) {
            return 0;
        }
    }

    /** True when this process's cgroup is {@code cg} or inside it (a move back failed). */
    private boolean daemonIsIn(Path cg) {
        String rel = homeRel.equals("/") ? "/" + home.relativize(cg) : homeRel + "/" + home.relativize(cg);
        String now = currentCgroup().orElse(null);
        return now == null || now.equals(rel) || now.startsWith(rel + "/");   // cannot tell: do not risk it
    }

    /** This process's cgroup v2 path, as /proc/self/cgroup's {@code 0::} line gives it. */
    static Optional<String> currentCgroup() {
        try (InputStream in = Files.newInputStream(Path.of("/proc/self/cgroup"))) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith("0::")) {
                    return Optional.of(line.substring(3).strip());
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    @Override
    public boolean contained() {
        return false;
    }

    @Override
    public String description() {
        if (broken != null) {
            return "runs not contained (" + why + "; no cgroup fallback: " + broken + "): each run has its own"
                    + " process group, but what leaves it (setsid, a daemon killed with SIGKILL) keeps running with the values";
        }
        return "runs not contained (" + why + "); fallback: each run in a cgroup of its own under " + runs
                + ", killed whole at its end (setsid and double forks included) and at the next daemon start;"
                + " a run can move itself out of it, and runs outlive a daemon killed with SIGKILL until then";
    }
}

package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fallback where no PID namespace can be made: the daemon, an unprivileged user's, starts in a
 * mount namespace where bwrap is missing ({@code /dev/null} bound over it), as on a host without
 * bubblewrap. With its cgroup delegated to that user (as systemd does for a session), every run
 * gets a cgroup of its own, killed whole: a {@code setsid} orphan dies with its run, and what a
 * daemon killed with SIGKILL left is killed when the next one starts. The control: the same
 * daemon in a cgroup that is not delegated falls back to a process group, and the orphan survives.
 * Setting up the delegation takes root (CI); elsewhere the test is skipped.
 */
class CgroupRunsIT {

    static final String VALUE = "cgroup-canary-8c1d3e07";

    Unprivileged user;
    Path dir;
    Brokerctl b;
    /** The delegated cgroup the daemon starts in. */
    Path delegated;
    final List<Long> survivors = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        user = Unprivileged.user();
        assumeTrue(user.switches(), "delegating a cgroup to the test user takes root");
        Path mount = cgroup2Mount();
        assumeTrue(mount != null && Files.isRegularFile(mount.resolve("cgroup.procs")),
                "no writable cgroup v2 hierarchy");
        delegated = mount.resolve("brokerctl-it-" + UUID.randomUUID().toString().substring(0, 8));
        Files.createDirectory(delegated);
        assumeTrue(Files.exists(delegated.resolve("cgroup.kill")), "no cgroup.kill (Linux 5.14 or later)");
        // what systemd's Delegate=yes hands a user: the directory and its procs, threads and subtree_control files
        for (String f : List.of("", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control")) {
            exec("chown", user.uid + ":" + user.gid, delegated.resolve(f).toString());
        }
        dir = user.newDirectory("brokerctl-cgroup-");
        b = new Brokerctl(dir).as(user);
        b.init();
        assertEquals(0, b.run("env", "create", "dev", "--policy", "auto").exit());
        assertEquals(0, b.runWithInput(VALUE.getBytes(StandardCharsets.UTF_8), "set", "dev", "TOKEN").exit());
    }

    @AfterEach
    void tearDown() throws Exception {
        if (b == null) {
            return;
        }
        b.run("stop");
        for (long pid : survivors) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        for (long pid : holdingTheValue()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        if (delegated != null) {
            try (Stream<Path> all = Files.walk(delegated)) {
                for (Path p : all.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList()) {
                    Files.writeString(p.resolve("cgroup.kill"), "1");
                    awaitRemoved(p);
                }
            }
        }
        Brokerctl.deleteTree(dir);
    }

    @Test
    void aSetsidOrphan_diesWithItsRun_inTheRunsCgroup_andSurvivesWithoutOne() throws Exception {
        startDaemon(true);
        String status = b.run("status", "--json").out();
        assertTrue(status.contains("\"runs_contained\":false") && status.contains("cgroup of its own under "
                + delegated), status);

        long orphan = orphanOfARun("300.1");
        awaitDead(orphan, "the setsid orphan of a run in its own cgroup");

        // the control: the same daemon in a cgroup that is not the user's falls back to process groups
        assertEquals(0, b.run("stop").exit());
        startDaemon(false);
        status = b.run("status", "--json").out();
        assertTrue(status.contains("\"runs_contained\":false") && status.contains("no cgroup fallback"), status);
        long survivor = orphanOfARun("300.2");
        survivors.add(survivor);
        assertTrue(alive(survivor),
                "without a cgroup the setsid orphan outlives its run (else this test proves nothing)");
    }

    @Test
    void whatADaemonKilledWithSigkillLeft_isKilledWhenTheNextDaemonStarts() throws Exception {
        startDaemon(true);
        Spawned run = b.start("run", "--env", "dev", "--", "sh", "-c", "echo started; exec sleep 301");
        try {
            assertEquals("started", run.nextLine(Tmux.WAIT));
            ProcessHandle.of(b.daemonPid()).orElseThrow().destroyForcibly();
            long left = DaemonIT.hostPid("301");
            // the control: no namespace, so the run outlives the daemon, holding the value
            assertFalse(holdingTheValue().isEmpty(), "the run holds the value after its daemon died");
            survivors.add(left);

            startDaemon(true);
            awaitDead(left, "the run a SIGKILLed daemon left");
            assertEquals(List.of(), holdingTheValue(), "processes still holding the value");
        } finally {
            run.close();
        }
    }

    /** Starts the daemon as the test user, with bwrap missing, in {@link #delegated} or in the root cgroup. */
    private void startDaemon(boolean inDelegatedCgroup) {
        String enter = inDelegatedCgroup ? "echo $$ > " + delegated.resolve("cgroup.procs") + " && " : "";
        Brokerctl.Result r = b.runWrapped(List.of("unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                "mount --bind /dev/null /usr/bin/bwrap && " + enter + "exec \"$@\"", "sh"), "daemon", "--detach");
        assertEquals(0, r.exit(), r.toString());
    }

    /** Runs a command that leaves a setsid'd {@code sleep SECONDS} behind; its pid. */
    private long orphanOfARun(String seconds) throws Exception {
        // The command ends only once the orphan has its own session: ended before, the run's
        // group kill could take the orphan too, and the control below fail (it did in CI).
        Brokerctl.Result r = b.run("run", "--env", "dev", "--", "sh", "-c",
                "setsid sleep " + seconds + " </dev/null >/dev/null 2>&1 & p=$!; "
                        + "while [ -e /proc/$p ] && [ \"$(cut -d' ' -f6 /proc/$p/stat 2>/dev/null)\" != \"$p\" ]; do :; done; echo $p");
        assertEquals(0, r.exit(), r.toString());
        return Long.parseLong(r.out().strip());
    }

    /** Dead: gone, or a zombie nobody has reaped yet (it runs nothing and holds no memory). */
    private static void awaitDead(long pid, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (alive(pid)) {
            if (System.nanoTime() > deadline) {
                fail(what + " (pid " + pid + ") is still running 10 s later");
            }
            Thread.onSpinWait();
        }
    }

    private static boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException e) {
            return false;
        }
    }

    private static void awaitRemoved(Path cgroup) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            try {
                Files.deleteIfExists(cgroup);
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("cannot remove " + cgroup + ": " + e.getMessage());
                }
                Thread.sleep(5);   // the kernel reaps what cgroup.kill killed; nothing to wait on
            }
        }
    }

    /** The cgroup v2 hierarchy's mount point (field 5 of the cgroup2 line in mountinfo), or null. */
    private static Path cgroup2Mount() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            int dash = line.indexOf(" - ");
            if (dash > 0 && line.substring(dash + 3).startsWith("cgroup2 ")) {
                String[] f = line.substring(0, dash).split(" ");
                if (f[3].equals("/")) {
                    return Path.of(f[4]);
                }
            }
        }
        return null;
    }

    private static void exec(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", command) + ": " + out);
    }

    private static List<Long> holdingTheValue() throws IOException {
        List<Long> out = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    if (new String(Files.readAllBytes(p.resolve("environ")), StandardCharsets.ISO_8859_1).contains(VALUE)) {
                        out.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // gone, or not readable
                }
            }
        }
        return out;
    }
}

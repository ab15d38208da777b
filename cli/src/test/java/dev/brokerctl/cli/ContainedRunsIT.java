package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A daemon killed with SIGKILL leaves no approved command behind holding the values: each run is
 * in a PID namespace that dies with the daemon. The daemon and its runs are an unprivileged user's,
 * so bubblewrap goes through user namespaces as on a developer's machine.
 */
class ContainedRunsIT {

    static final String VALUE = "contained-canary-4b7e21d9";

    Unprivileged user;
    Path dir;
    Brokerctl b;
    Spawned run;

    @BeforeEach
    void setUp() throws Exception {
        user = Unprivileged.user();
        dir = user.newDirectory("brokerctl-contained-");
        b = new Brokerctl(dir).as(user);
        b.init();
        assertEquals(0, b.run("env", "create", "dev", "--policy", "auto").exit());
        assertEquals(0, b.runWithInput(VALUE.getBytes(StandardCharsets.UTF_8), "set", "dev", "TOKEN").exit());
        assertEquals(0, b.run("daemon", "--detach").exit());
    }

    @AfterEach
    void tearDown() throws Exception {
        if (run != null) {
            run.close();
        }
        b.run("stop");
        holdingTheValue().forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        Brokerctl.deleteTree(dir);
    }

    @Test
    void aDaemonKilledWithSigkill_leavesNoRunHoldingTheValue_within5Seconds() throws Exception {
        Brokerctl.Result status = b.run("status", "--json");
        assertTrue(status.out().contains("\"runs_contained\":true"), status.toString());
        run = b.start("run", "--env", "dev", "--", "sh", "-c", "echo started; exec sleep 300");
        assertEquals("started", run.nextLine(Tmux.WAIT));
        // the control: the command (and bwrap, which passes the environment on) hold the value now
        assertFalse(holdingTheValue().isEmpty(), "the running command holds the value");

        long daemon = b.daemonPid();
        ProcessHandle.of(daemon).orElseThrow().destroyForcibly();
        long deadline = System.nanoTime() + 5_000_000_000L;
        List<Long> left = holdingTheValue();
        while (!left.isEmpty() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
            left = holdingTheValue();
        }
        assertEquals(List.of(), left, "processes still holding the value 5 s after the daemon died");
    }

    /** Every process on the machine with the value in its environment (the test runs as root: it reads all). */
    private static List<Long> holdingTheValue() throws IOException {
        byte[] value = VALUE.getBytes(StandardCharsets.UTF_8);
        List<Long> out = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    if (new String(Files.readAllBytes(p.resolve("environ")), StandardCharsets.ISO_8859_1)
                            .contains(new String(value, StandardCharsets.ISO_8859_1))) {
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

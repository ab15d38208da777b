package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every daemon end is said on the terminal it was started from (a real one: tmux), with the exit
 * code documented in {@code brokerctl daemon --help} and {@code approve --help}: a second daemon
 * (1), Ctrl-C (130), {@code brokerctl stop} (0), and a console whose daemon stopped (1). Each pane runs {@code CMD; echo rc=$?} so the screen shows the code.
 */
class DaemonExitIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;
    Brokerctl b;
    private Tmux daemonTerminal;
    private Tmux consoleTerminal;

    @BeforeEach
    void setUp() throws Exception {
        b = new Brokerctl(tmp).init();
        daemonTerminal = new Tmux(tmp.resolve("daemon-tmux.sock"));
        consoleTerminal = new Tmux(tmp.resolve("console-tmux.sock"));
    }

    @AfterEach
    void tearDown() throws Exception {
        consoleTerminal.kill();
        daemonTerminal.kill();
        if (Files.exists(b.socket())) {
            b.run("stop");
        }
        assertFalse(b.transcript.toString().contains(Brokerctl.PASSPHRASE), "the passphrase was printed");
    }

    @Test
    void secondForegroundDaemon_saysWhyOnItsTerminal_andExits1() throws Exception {
        assertEquals(0, b.run("daemon", "--detach").exit());
        daemonTerminal.start(b, "sh", "-c", b.launcher + " daemon; echo rc=$?; exec sleep 600");
        daemonTerminal.awaitScreen("rc=", WAIT);
        String screen = daemonTerminal.screen();
        assertTrue(screen.contains("brokerctl: a brokerctl daemon is already running on " + b.socket()), screen);
        assertTrue(screen.contains("rc=1"), screen);
    }

    @Test
    void ctrlC_onAForegroundDaemon_saysSo_andExits130() throws Exception {
        // the shell traps INT (its children get the default back): dash would otherwise end with
        // the daemon and take the pane, and the rc line, with it
        daemonTerminal.start(b, "sh", "-c", "trap : INT; " + b.launcher + " daemon; echo rc=$?; exec sleep 600");
        daemonTerminal.awaitScreen("watching for requests", WAIT);

        daemonTerminal.keys("C-c");
        daemonTerminal.awaitScreen("rc=", WAIT);
        String screen = daemonTerminal.screen();
        assertTrue(screen.contains("brokerctl: the daemon stopped on SIGINT (Ctrl-C); its runs were ended"
                + " and the vault locked"), screen);
        assertTrue(screen.contains("rc=130"), screen);
        assertFalse(Files.exists(b.socket()), "the socket file is gone");
    }

    @Test
    void brokerctlStop_endsAForegroundDaemonWith0_andAnOpenConsoleSaysTheDaemonStopped_andExits1() throws Exception {
        daemonTerminal.start(b, "sh", "-c", b.launcher + " daemon; echo rc=$?; exec sleep 600");
        daemonTerminal.awaitScreen("watching for requests", WAIT);
        consoleTerminal.start(b, "sh", "-c", b.launcher + " approve; echo rc=$?; exec sleep 600");
        consoleTerminal.awaitScreen("watching for requests", WAIT);

        assertEquals(0, b.run("stop").exit());
        daemonTerminal.awaitScreen("rc=", WAIT);
        String daemonScreen = daemonTerminal.screen();
        assertTrue(daemonScreen.contains("brokerctl: the daemon stopped (asked to over its socket: brokerctl stop)"),
                daemonScreen);
        assertTrue(daemonScreen.contains("rc=0"), daemonScreen);

        consoleTerminal.awaitScreen("rc=", WAIT);
        String consoleScreen = consoleTerminal.screen();
        assertTrue(consoleScreen.contains("brokerctl: the daemon stopped; this console ends"), consoleScreen);
        assertTrue(consoleScreen.contains("rc=1"), consoleScreen);
    }
}

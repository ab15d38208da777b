package dev.brokerctl.cli;

import dev.brokerctl.daemon.Daemon;
import dev.brokerctl.daemon.DaemonConfig;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.Durations;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "daemon", description = {
    "Run the broker daemon: it unlocks with the passphrase from BROKERCTL_PASSPHRASE_FILE, else from the terminal.",
    "With --locked it never holds the key, so it cannot be unlocked over its socket (restart it with the passphrase).",
    "Its log is $BROKERCTL_HOME/brokerd.log and never holds a value.",
    "In the foreground it says on its terminal why it ends. Exit 0 after brokerctl stop, 1 when it cannot start"
        + " (another daemon runs, say), 128+N on signal N: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."})
final class DaemonCommand implements Callable<Integer>, HoldsSecrets {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--locked", description = "Start locked.")
    boolean locked;

    @Option(names = "--detach", description = "Start in the background; return once it is ready.")
    boolean detach;

    @Option(names = "--idle-lock", paramLabel = "DURATION", defaultValue = "30m",
            description = "Lock after this long without requests and with no command running (default: ${DEFAULT-VALUE}).")
    String idleLock;

    @Option(names = "--approval-timeout", paramLabel = "DURATION", defaultValue = "120s",
            description = "Deny a pending run nobody decided after this long (default: ${DEFAULT-VALUE}).")
    String approvalTimeout;

    /**
     * Set by --detach on the child it starts: passphrase on stdin (a pipe from the parent, never
     * the socket), "ready" on stdout.
     */
    @Option(names = "--detached-child", hidden = true)
    boolean detachedChild;

    @Override
    public Integer call() throws Exception {
        Duration idle = Durations.parse(idleLock);
        Duration approval = Durations.parse(approvalTimeout);
        if (idle.isZero() || approval.isZero()) {
            throw new CliException("--idle-lock and --approval-timeout must be longer than zero", ExitCodes.USAGE);
        }
        BrokerPaths paths = BrokerPaths.fromEnvironment();
        if (detach) {
            return detach(paths);
        }
        Terminal terminal = Terminal.system();
        char[] passphrase = null;
        if (!locked && detachedChild && System.getenv(Terminal.PASSPHRASE_FILE) == null) {
            passphrase = readPassphraseLine();
        }
        // else the passphrase is asked for below, once the daemon exists: a wrong one typed at
        // the terminal is asked for again (Terminal.TRIES)
        boolean ask = !locked && passphrase == null;
        // picocli's err stays this terminal's stderr: the log takes over System.err below, but
        // why this daemon ends belongs on the terminal it was started from
        java.io.PrintWriter terminalErr = spec.commandLine().getErr();
        Logging.toFile(paths.daemonLog());
        Daemon daemon = new Daemon(DaemonConfig.of(paths.socket(), paths.vaultFile())
                .withIdleLock(idle).withApprovalTimeout(approval));
        boolean console = !detachedChild && !locked && System.console() != null;
        try {
            if (passphrase != null) {
                daemon.unlock(passphrase);
            } else if (ask) {
                terminal.withPassphrase("Vault passphrase: ", terminalErr, p -> {
                    daemon.unlock(p);
                    return null;
                });
            }
            daemon.start();
            if (console) {
                startConsole(daemon);
            }
        } catch (Daemon.StartException e) {
            return fail(e.getMessage());
        } catch (dev.brokerctl.vault.VaultException | CliException e) {
            return fail(e.getMessage());
        } finally {
            if (passphrase != null) {
                Arrays.fill(passphrase, '\0');
            }
        }
        Runtime.getRuntime().addShutdownHook(new Thread(daemon::shutdown, "shutdown-hook"));
        java.util.concurrent.atomic.AtomicInteger signal = new java.util.concurrent.atomic.AtomicInteger();
        if (!detachedChild) {
            stopOnSignals(daemon, signal);
        }
        String ready = "brokerctl daemon " + ProcessHandle.current().pid() + " ready on " + paths.socket()
                + (daemon.isLocked() ? " (locked)" : "") + "; log: " + paths.daemonLog();
        if (detachedChild) {
            System.out.println("ready " + ready);
            System.out.flush();
            System.out.close();
        } else {
            spec.commandLine().getOut().println(ready);
            spec.commandLine().getOut().println("stop it with Ctrl-C or: brokerctl stop"
                    + (console ? "; pending requests are shown here" : ""));
            String multiplexer = ApproveCommand.multiplexer(System.getenv());
            if (console && multiplexer != null) {
                spec.commandLine().getOut().println(ApproveCommand.multiplexerWarning(multiplexer));
            }
            spec.commandLine().getOut().flush();
        }
        daemon.awaitTermination();
        if (detachedChild) {
            return ExitCodes.OK;
        }
        return ended(terminalErr, signal.get());
    }

    /**
     * Says on the daemon's own terminal why it ended. A signal is an abnormal end, 128 + its
     * number as a shell reports it (130 for Ctrl-C); {@code brokerctl stop} is the normal one, 0.
     */
    static int ended(java.io.PrintWriter err, int signal) {
        String after = "; its runs were ended and the vault locked";
        if (signal == 0) {
            err.println("brokerctl: the daemon stopped (asked to over its socket: brokerctl stop)" + after);
            err.flush();
            return ExitCodes.OK;
        }
        String name = switch (signal) {
            case 1 -> "SIGHUP (its terminal closed)";
            case 2 -> "SIGINT (Ctrl-C)";
            case 15 -> "SIGTERM";
            default -> "signal " + signal;
        };
        err.println("brokerctl: the daemon stopped on " + name + after);
        err.flush();
        return 128 + signal;
    }

    /**
     * Ctrl-C, SIGTERM and SIGHUP stop a foreground daemon as the shutdown hook would, but leave
     * main to say so and to exit with 128 + the signal's number.
     */
    private static void stopOnSignals(Daemon daemon, java.util.concurrent.atomic.AtomicInteger signal) {
        sun.misc.SignalHandler handler = s -> {
            if (signal.compareAndSet(0, s.getNumber())) {
                new Thread(daemon::shutdown, "signal-shutdown").start();
            }
        };
        for (String name : new String[] {"INT", "TERM", "HUP"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), handler);
            } catch (IllegalArgumentException e) {
                // not available here (or the JVM's own): the shutdown hook still stops the daemon
            }
        }
    }

    /**
     * The foreground daemon's terminal is an approval console too, connected to its daemon inside
     * this JVM (two pipes): not through the socket path, which a process polling for it could
     * take over between the bind and a connect.
     */
    private static void startConsole(Daemon daemon) {
        try {
            dev.brokerctl.protocol.BrokerClient client = daemon.inProcessConsole(DaemonClient.hello("daemon console"));
            Thread t = new Thread(() -> {
                try (client) {
                    ApproveCommand.console(client).run();
                } catch (Exception e) {
                    System.err.println("approval console stopped: " + e.getMessage());
                }
            }, "foreground-console");
            t.setDaemon(true);
            t.start();
        } catch (dev.brokerctl.protocol.BrokerException | IOException e) {
            System.err.println("no approval console in this terminal: " + e.getMessage());
        }
    }

    private int fail(String message) {
        if (detachedChild) {
            System.out.println("error " + message);
            System.out.flush();
        } else {
            spec.commandLine().getErr().println("brokerctl: " + message);
        }
        return ExitCodes.FAILURE;
    }

    /** The detached child's passphrase: one line on stdin from its parent. */
    private static char[] readPassphraseLine() throws IOException, CliException {
        byte[] all = System.in.readNBytes(4096);
        try {
            int end = 0;
            while (end < all.length && all[end] != '\n') {
                end++;
            }
            return Terminal.decode(all, end);
        } finally {
            Arrays.fill(all, (byte) 0);
        }
    }

    /** Starts this command again as a detached child, and waits for it to be ready. */
    private int detach(BrokerPaths paths) throws Exception {
        char[] passphrase = null;
        if (!locked && System.getenv(Terminal.PASSPHRASE_FILE) == null) {
            passphrase = Terminal.system().passphrase("Vault passphrase: ");
        }
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid");   // its own session: no SIGHUP when this terminal closes
        }
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED");   // as the jar's manifest: peers' pids (SO_PEERCRED)
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of("daemon", "--detached-child", "--idle-lock", idleLock,
                "--approval-timeout", approvalTimeout));
        if (locked) {
            cmd.add("--locked");
        }
        Files.createDirectories(paths.home(), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        // The JVM's own stderr (a crash report, say); the daemon logs to brokerd.log.
        Path stderrFile = paths.home().resolve("brokerd.stderr");
        if (!Files.exists(stderrFile)) {
            Files.createFile(stderrFile, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------")));
        }
        File stderr = stderrFile.toFile();
        Process child = new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.appendTo(stderr))
                .start();
        try (OutputStream in = child.getOutputStream()) {
            if (passphrase != null) {
                byte[] b = Terminal.utf8(passphrase);
                in.write(b);
                in.write('\n');
                Arrays.fill(b, (byte) 0);
            }
        } finally {
            if (passphrase != null) {
                Arrays.fill(passphrase, '\0');
            }
        }
        String line = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))
                .readLine();
        PrintStream out = System.out;
        if (line != null && line.startsWith("ready ")) {
            out.println(line.substring(6));
            return ExitCodes.OK;
        }
        if (line != null && line.startsWith("error ")) {
            spec.commandLine().getErr().println("brokerctl: " + line.substring(6));
        } else {
            spec.commandLine().getErr().println("brokerctl: the daemon exited while starting; see "
                    + paths.daemonLog());
        }
        return ExitCodes.FAILURE;
    }

    /**
     * The daemon logs through slf4j-simple to System.err, which becomes the log file, opened for
     * appending, created 0600 and rotated ({@link RotatingLog}; slf4j-simple's own logFile option
     * truncates, which would wipe the log of a daemon that is still running when a second one fails
     * to start).
     */
    static final class Logging {
        private Logging() {
        }

        static void toFile(Path log) throws IOException {
            Files.createDirectories(log.getParent(), PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            System.setErr(new PrintStream(new RotatingLog(log), true, StandardCharsets.UTF_8));
            System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
            System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
            System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
            System.setProperty("org.slf4j.simpleLogger.showThreadName", "true");
            System.setProperty("org.slf4j.simpleLogger.showShortLogName", "true");
        }
    }
}

package dev.brokerctl.cli;

import dev.brokerctl.containment.Finding;
import dev.brokerctl.containment.HostProbe;
import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.DaemonUnavailableException;
import dev.brokerctl.protocol.Message;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code brokerctl doctor}: the host's and the install's weaknesses, each with the command that fixes
 * it. Needs no passphrase and opens no vault; reads environment variable names, never values.
 */
@Command(name = "doctor", description = "Check this host and the brokerctl install: each finding with the command"
        + " that fixes it. Exit 0 when nothing needs fixing, 1 otherwise.")
final class DoctorCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", description = "Print JSON: a list of findings (id, status, text, fix) and the number that need fixing.")
    boolean json;

    @Option(names = "--accept-rollback", description = "Accept a vault that is behind its rollback mark (a backup"
            + " restored on purpose): needs the passphrase, no daemon running; recorded in the audit log.")
    boolean acceptRollback;

    @Override
    public Integer call() throws Exception {
        if (acceptRollback) {
            AcceptRollbackCommand accept = new AcceptRollbackCommand();
            accept.spec = spec;
            return accept.call();
        }
        HostProbe probe = HostProbe.system();
        BrokerPaths paths = BrokerPaths.fromEnvironment();
        List<Finding> all = new ArrayList<>(probe.host());
        all.addAll(probe.files(paths.home(), paths.socket()));
        all.addAll(daemon(probe, paths));
        Path jar = ownJar();
        if (jar == null) {
            all.add(new Finding("install", Finding.Status.INFO, "not started from brokerctl.jar (class path "
                    + System.getProperty("java.class.path") + "): the install was not checked", ""));
        } else {
            all.addAll(probe.install(jar));
        }
        long needFixing = all.stream().filter(f -> f.status().needsFixing()).count();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Json.findings(out, all, needFixing);
        } else {
            for (Finding f : all) {
                out.printf("%-5s %-17s %s%n", f.status().needsFixing() ? f.status().id().toUpperCase(java.util.Locale.ROOT)
                        : f.status().id(), f.id(), printable(f.text()));
                if (!f.fix().isEmpty()) {
                    out.printf("      %-17s %s%n", "fix:", printable(f.fix()));
                }
            }
            out.println(needFixing == 0 ? "nothing needs fixing" : needFixing + " of " + all.size()
                    + " findings need fixing");
        }
        out.flush();
        return needFixing == 0 ? ExitCodes.OK : ExitCodes.FAILURE;
    }

    /** Is a daemon running, locked, hardened? A requester-level {@code status}: no passphrase. */
    private static List<Finding> daemon(HostProbe probe, BrokerPaths paths) {
        List<Finding> all = new ArrayList<>();
        long pid;
        boolean locked;
        try (BrokerClient c = DaemonClient.connect(paths, "doctor")) {
            Message status = c.call(Message.of("status"));
            pid = status.number("pid", -1);
            locked = status.bool("locked", true);
        } catch (DaemonUnavailableException e) {
            all.add(new Finding("daemon", Finding.Status.INFO, "no daemon is running at " + paths.socket(),
                    "brokerctl daemon --detach"));
            return all;
        } catch (BrokerException e) {
            all.add(new Finding("daemon", Finding.Status.FAIL, "cannot talk to the daemon at " + paths.socket() + ": "
                    + e.getMessage(), "brokerctl status"));
            return all;
        }
        all.add(locked
                ? new Finding("daemon", Finding.Status.INFO, "a daemon is running (pid " + pid + "), locked",
                        "brokerctl unlock")
                : new Finding("daemon", Finding.Status.OK, "a daemon is running (pid " + pid + "), unlocked", ""));
        if (pid > 0) {
            all.addAll(probe.daemon(pid));
        }
        return all;
    }

    /** The brokerctl jar this JVM runs from ({@code bin/brokerctl} starts it with {@code -jar}); null if none. */
    private static Path ownJar() {
        String cp = System.getProperty("java.class.path", "");
        for (String entry : cp.split(java.io.File.pathSeparator)) {
            Path p = Path.of(entry);
            if (p.getFileName() != null && p.getFileName().toString().startsWith("brokerctl")
                    && p.getFileName().toString().endsWith(".jar")) {
                return p.toAbsolutePath();
            }
        }
        return null;
    }

    /** Control characters (a variable name may hold any) would drive the terminal: shown as '?'. */
    private static String printable(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            b.append(ch < 0x20 || (ch >= 0x7f && ch < 0xa0) ? '?' : ch);
        }
        return b.toString();
    }
}

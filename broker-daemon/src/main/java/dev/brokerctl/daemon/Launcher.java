package dev.brokerctl.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * How an approved command is started, signalled and ended: in a PID namespace of its own that
 * dies with it and with the daemon ({@link NamespaceLauncher}), or, where none can be made, in a
 * process group of its own ({@link GroupLauncher}, "runs not contained").
 */
interface Launcher {

    /** Starts {@code argv} (argv[0] an absolute path) configured by {@code pb}'s cwd and environment. */
    Process start(ProcessBuilder pb, List<String> argv, Path cwd) throws IOException;

    /** Forwards a signal (SIGINT, SIGTERM, ...) to the command, as a terminal would to its job. */
    void signal(Process p, int signal);

    /** Ends the command and everything it started; idempotent. */
    void kill(Process p);

    /** True when nothing a run starts can outlive it or the daemon. */
    boolean contained();

    /** For status, consoles and the log: how runs are started, or why they are not contained. */
    String description();

    /**
     * A PID namespace per run when bubblewrap is there and works for this user (tried once:
     * user namespaces may be disabled), else a process group per run, saying why.
     */
    static Launcher forThisHost(Spawner spawner, String path) {
        java.util.Optional<Path> bwrap = dev.brokerctl.containment.Bwrap.find(path);
        if (bwrap.isEmpty()) {
            return new GroupLauncher(spawner, "bubblewrap is not installed: " + dev.brokerctl.containment.Bwrap.INSTALL);
        }
        String failure = tryNamespace(bwrap.get());
        return failure == null ? new NamespaceLauncher(bwrap.get(), spawner, NamespaceLauncher::hostFileSystem)
                : new GroupLauncher(spawner, failure);
    }

    /** null when bwrap can make a PID namespace here, else what went wrong. */
    private static String tryNamespace(Path bwrap) {
        try {
            Process p = new ProcessBuilder(bwrap.toString(), "--unshare-pid", "--die-with-parent", "--bind", "/", "/",
                    "--dev", "/dev", "--proc", "/proc", "--", "/bin/true").redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readNBytes(500);
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return bwrap + " did not finish within 10 s";
            }
            if (p.exitValue() != 0) {
                String said = new String(out, java.nio.charset.StandardCharsets.UTF_8).strip();
                return bwrap + " cannot make a PID namespace here (" + (said.isEmpty() ? "exit " + p.exitValue() : said)
                        + "); check: brokerctl doctor";
            }
            return null;
        } catch (IOException e) {
            return bwrap + " cannot be started (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while trying bwrap";
        }
    }
}

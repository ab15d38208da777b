package dev.brokerctl.cli;

import dev.brokerctl.containment.Agent;
import dev.brokerctl.containment.Bwrap;
import dev.brokerctl.containment.ContainmentException;
import dev.brokerctl.containment.FileSystemProfile;
import dev.brokerctl.containment.Network;
import dev.brokerctl.containment.Sandbox;
import dev.brokerctl.containment.SecretEnvironment;
import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.DaemonUnavailableException;
import dev.brokerctl.protocol.Message;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/** {@code brokerctl sandbox}: starts a coding agent under bubblewrap, the broker staying outside. */
@Command(name = "sandbox", description = {
    "Start a coding agent (claude, codex, a shell) under bubblewrap: own PID namespace, own terminal,"
        + " the file system read-only but for the project, the agent's own state and a private /tmp;"
        + " the broker home, credential stores, tmux/screen/docker sockets and .env* files hidden;"
        + " the daemon socket bound in alone; secret-looking variables removed from its environment.",
    "The agent reaches secrets only through the broker (brokerctl mcp / run work inside)."})
final class SandboxCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--profile", paramLabel = "default|strict", defaultValue = "default",
            description = "strict: the home is empty but for the project and the agent's state, and no"
                    + " network rather than the host's when pasta is unusable. Default: ${DEFAULT-VALUE}.")
    String profile;

    @Option(names = "--no-net", description = "No network at all (only loopback).")
    boolean noNet;

    @Option(names = "--bind", paramLabel = "PATH[:ro]", description = "Also bind PATH, writable (or read-only with :ro).")
    List<String> binds = new ArrayList<>();

    @Option(names = "--keep", paramLabel = "NAME", description = "Keep the variable NAME although it looks secret.")
    List<String> keep = new ArrayList<>();

    @Option(names = "--show", description = "Print the bwrap command line, the mounts and the removed names; start nothing.")
    boolean show;

    @Parameters(paramLabel = "AGENT", arity = "1..*", description = "The agent and its arguments, after --.")
    List<String> command;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        if (!profile.equals("default") && !profile.equals("strict")) {
            throw new IllegalArgumentException("unknown profile '" + profile + "'; use --profile default or --profile strict");
        }
        boolean strict = profile.equals("strict");
        Map<String, String> env = System.getenv();
        String path = env.get("PATH");
        Path bwrap = Bwrap.find(path).orElseThrow(() -> new CliException(
                "bubblewrap (bwrap) is not installed, so nothing can be contained; install it with: " + Bwrap.INSTALL, 125));
        Path setsid = Sandbox.findSetsid(path);
        if (setsid == null) {
            throw new CliException("setsid (util-linux) is not installed; install it with: sudo apt-get install util-linux", 125);
        }
        Agent agent = Agent.of(command.get(0));
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        int gid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
        String homeVar = env.get("HOME");
        Path home = Path.of(homeVar != null && homeVar.startsWith("/") ? homeVar : System.getProperty("user.home"));
        BrokerPaths paths = BrokerPaths.fromEnvironment();

        FileSystemProfile.Builder b = FileSystemProfile.builder(home, uid).agent(agent).strict(strict)
                .brokerHome(paths.home()).socket(paths.socket())
                .javaHome(Path.of(System.getProperty("java.home")));
        String runtime = env.get("XDG_RUNTIME_DIR");
        b.runtimeDir(runtime != null && runtime.startsWith("/") ? Path.of(runtime) : Path.of("/run/user", Integer.toString(uid)));
        String tmuxTmp = env.get("TMUX_TMPDIR");
        if (tmuxTmp != null && tmuxTmp.startsWith("/")) {
            b.multiplexerDir(Path.of(tmuxTmp, "tmux-" + uid));
        }
        String tmux = env.get("TMUX");
        if (tmux != null && tmux.startsWith("/")) {
            b.multiplexerDir(Path.of(tmux.split(",", 2)[0]));   // the server's socket this terminal is in
        }
        for (Path p : install()) {
            b.install(p);
        }
        for (String bind : binds) {
            boolean ro = bind.endsWith(":ro");
            Path p = Path.of(ro ? bind.substring(0, bind.length() - 3) : bind).toAbsolutePath().normalize();
            if (!Files.exists(p)) {
                throw new IllegalArgumentException("--bind " + bind + ": " + p + " does not exist");
            }
            b.bind(p, ro);
        }
        FileSystemProfile fs = b.build();
        Network.Choice network = Network.choose(noNet, strict, path);
        Sandbox sandbox = new Sandbox(bwrap, setsid, network, fs, uid, gid);
        Path project = Path.of("").toAbsolutePath();

        List<String> notes = new ArrayList<>();
        SecretEnvironment.Result scrubbed = SecretEnvironment.scrub(env, vaultNames(paths, notes), agent, keep);
        Map<String, String> inside = new LinkedHashMap<>(scrubbed.environment());
        inside.put("TMPDIR", "/tmp");   // the private one: a TMPDIR outside may be hidden or read-only
        List<String> argv;
        try {
            if (!show) {
                for (Path created : fs.createPlaceholders(project)) {
                    notes.add("created " + created + " so that it can be read-only inside");
                }
            }
            argv = sandbox.argv(project, command);
            if (fs.socket() != null && Files.exists(fs.socket())) {
                inside.put("BROKERCTL_SOCKET", fs.socket().toString());
            } else {
                notes.add("no daemon socket at " + paths.socket() + ": brokerctl inside cannot reach a daemon;"
                        + " start one first with: brokerctl daemon --detach");
            }
        } catch (ContainmentException e) {
            throw new CliException(e.getMessage(), 125);
        }
        if (network.note() != null) {
            notes.add(0, network.note().replaceFirst("^brokerctl sandbox: ", ""));
        }

        if (show) {
            PrintWriter out = spec.commandLine().getOut();
            out.println("agent:    " + agent.id());
            out.println("network:  " + network.network().name().toLowerCase(java.util.Locale.ROOT)
                    + (network.note() != null ? " (" + network.note().replaceFirst("^brokerctl sandbox: ", "") + ")" : ""));
            out.println("command:  " + String.join(" ", argv.stream().map(SandboxCommand::quote).toList()));
            out.println("mounts:");
            for (FileSystemProfile.Mount m : fs.mounts(project)) {
                out.printf("  %-9s %s  (%s)%n", m.access().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'),
                        m.path(), m.reason());
            }
            out.println("removed:  " + (scrubbed.removed().isEmpty() ? "(none)" : String.join(" ", scrubbed.removed())));
            for (String n : notes) {
                out.println("note:     " + n);
            }
            out.flush();
            return ExitCodes.OK;
        }
        for (String n : notes) {
            err.println("brokerctl sandbox: " + n);
        }
        if (!scrubbed.removed().isEmpty()) {
            err.println("brokerctl sandbox: removed from the agent's environment: " + String.join(" ", scrubbed.removed()));
        }
        err.flush();
        return run(argv, inside, err);
    }

    /** The jar's directory and the launcher's: what a same-user process could replace. */
    private static List<Path> install() {
        List<Path> out = new ArrayList<>();
        try {
            Path jar = Path.of(SandboxCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path jarDir = Files.isDirectory(jar) ? jar : jar.getParent();
            out.add(jarDir);
            // lib/brokerctl.jar in an install, cli/target/brokerctl.jar in a build tree (as bin/brokerctl looks)
            Path root = jarDir.getFileName().toString().equals("lib") ? jarDir.getParent() : jarDir.getParent().getParent();
            if (root != null && Files.isDirectory(root.resolve("bin"))) {
                out.add(root.resolve("bin"));
            }
        } catch (java.net.URISyntaxException | RuntimeException e) {
            // no code source (an IDE): nothing to protect that we know of
        }
        return out;
    }

    /** Every variable name in the vault, from the running daemon: names only. */
    private static List<String> vaultNames(BrokerPaths paths, List<String> notes) {
        List<String> names = new ArrayList<>();
        Map<String, Object> client = new LinkedHashMap<>();
        client.put("name", "brokerctl sandbox");
        client.put("version", RunMain.version());
        try (BrokerClient c = BrokerClient.connect(paths.socket(), client)) {
            Message envs = c.call(Message.of("list_environments"));
            for (Message e : envs.messages("environments")) {
                Message vars = c.call(Message.of("list_variables").with("environment", e.string("name")));
                for (Message v : vars.messages("variables")) {
                    names.add(v.string("name"));
                }
            }
        } catch (DaemonUnavailableException e) {
            notes.add("no daemon is running, so the vault's variable names were not checked (only the"
                    + " secret-looking patterns were)");
        } catch (BrokerException e) {
            notes.add("the daemon did not list the vault's names (" + e.getMessage() + "); only the"
                    + " secret-looking patterns were checked");
        }
        return names;
    }

    /**
     * Starts the sandbox on a new pty and relays until it ends. On a terminal, the human's is put
     * in raw mode (the pty does the line editing and turns Ctrl-C into SIGINT for the agent), and
     * its window size follows the human's (SIGWINCH). Otherwise the pty passes plain bytes (no
     * echo, no CR added), and the end of stdin is the terminal's end-of-file.
     */
    private int run(List<String> argv, Map<String, String> environment, PrintWriter err) throws Exception {
        boolean interactive = Pty.isTerminal(0);
        Pty pty = Pty.open();
        String saved = null;
        try {
            int[] size = Pty.windowSize(interactive ? 0 : 1);
            if (size != null && size[0] > 0) {
                pty.resize(size[0], size[1]);
            }
            if (!interactive) {
                stty(List.of("-F", pty.slave().getPath(), "-echo", "-onlcr"), false);
            }
            ProcessBuilder pb = new ProcessBuilder(argv).redirectInput(pty.slave()).redirectOutput(pty.slave())
                    .redirectError(pty.slave());
            pb.environment().clear();
            pb.environment().putAll(environment);
            // started from this (the main) thread, which lives as long as the sandbox: bwrap's
            // --die-with-parent is PR_SET_PDEATHSIG, which fires when the forking thread ends
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new CliException("cannot start " + argv.get(0) + ": " + e.getMessage(), 125);
            }
            if (interactive) {
                saved = stty(List.of("-g"), true).trim();
                String restore = saved;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> sttyQuietly(restore), "sandbox-restore-tty"));
                stty(List.of("raw", "-echo"), true);
            }
            forwardSignals(pty, interactive);
            Thread out = new Thread(() -> relayOut(pty), "sandbox-pty-out");
            out.start();
            Thread in = new Thread(() -> relayIn(pty, interactive), "sandbox-pty-in");
            in.setDaemon(true);   // blocked on stdin when the agent ends; the exit ends it
            in.start();
            int code = p.waitFor();
            out.join(10_000);
            return code;
        } finally {
            if (saved != null) {
                sttyQuietly(saved);
            }
        }
    }

    private static void forwardSignals(Pty pty, boolean interactive) {
        SignalHandler forward = s -> pty.signal(s.getNumber());
        for (String name : new String[] {"INT", "TERM", "HUP"}) {
            try {
                Signal.handle(new Signal(name), forward);
            } catch (IllegalArgumentException e) {
                // not available here: the default action stays
            }
        }
        if (interactive) {
            try {
                Signal.handle(new Signal("WINCH"), s -> {
                    int[] size = Pty.windowSize(0);
                    if (size != null && size[0] > 0) {
                        try {
                            pty.resize(size[0], size[1]);
                        } catch (IOException ignored) {
                            // the pty is gone: the agent has ended
                        }
                    }
                });
            } catch (IllegalArgumentException e) {
                // no SIGWINCH: the size stays what it was at the start
            }
        }
    }

    private static void relayOut(Pty pty) {
        byte[] buf = new byte[16 * 1024];
        try (OutputStream out = new FileOutputStream(FileDescriptor.out)) {
            int n;
            while ((n = pty.read(buf)) >= 0) {
                if (n > 0) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            }
        } catch (IOException ignored) {
            // our stdout is gone: nothing more to show
        }
    }

    private static void relayIn(Pty pty, boolean interactive) {
        byte[] buf = new byte[4096];
        byte last = '\n';
        try (InputStream in = new FileInputStream(FileDescriptor.in)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                pty.write(buf, n);
                last = buf[n - 1];
            }
            if (!interactive) {
                // stdin ended: the terminal's end-of-file (VEOF ends a partial line, a second one
                // then reads as end-of-file)
                byte[] eof = {4, 4};
                pty.write(eof, last == '\n' ? 1 : 2);
            }
        } catch (IOException ignored) {
            // the agent ended, or stdin was closed
        }
    }

    /** Runs stty on the human's terminal (stdin) or, with -F, on a named one; returns its output. */
    private static String stty(List<String> args, boolean onStdin) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("stty"));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        if (onStdin) {
            pb.redirectInput(ProcessBuilder.Redirect.INHERIT);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("stty " + String.join(" ", args) + " failed");
        }
        return out;
    }

    private static void sttyQuietly(String saved) {
        try {
            stty(List.of(saved), true);
        } catch (IOException | InterruptedException ignored) {
            // best effort: the terminal may be gone
        }
    }

    static String quote(String s) {
        if (!s.isEmpty() && s.chars().allMatch(c -> Character.isLetterOrDigit(c) || "-_./=:,@+%".indexOf(c) >= 0)) {
            return s;
        }
        return "'" + s.replace("'", "'\\''") + "'";
    }
}

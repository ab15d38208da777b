package dev.brokerctl.containment;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Probes the host for what containment needs and for the weaknesses a same-user process could use:
 * {@code brokerctl doctor}'s findings, and (through {@link #runContainment()}) whether the daemon can
 * run approved commands in a PID namespace. Files under {@code /proc} and {@code /sys} are read
 * through {@code root}, so tests can feed a fake tree; commands run through {@link Exec}.
 * Reads environment variable names only, never their values.
 */
public final class HostProbe {

    /** How long the bwrap trial may take before it counts as unusable. */
    static final Duration BWRAP_TIMEOUT = Duration.ofSeconds(5);

    /**
     * The bwrap trial: what every contained run needs (its own PID namespace, a fresh /dev). With
     * {@code --as-pid-1}, so that no init of bwrap's outlives bwrap, to be adopted as a zombie by
     * a daemon that is a child subreaper.
     */
    static final List<String> BWRAP_TRIAL = List.of("--ro-bind", "/", "/", "--unshare-pid", "--as-pid-1",
            "--die-with-parent", "--dev", "/dev", "--", "/bin/true");

    /** Credential stores a sandbox hides, relative to the user's home. */
    static final List<String> CREDENTIALS = List.of(".ssh", ".aws/credentials", ".config/gcloud", ".azure",
            ".kube/config", ".docker/config.json", ".netrc", ".git-credentials", ".config/gh/hosts.yml",
            ".npmrc", ".pypirc", ".pgpass", ".gnupg", ".password-store");

    static final String SANDBOX = "run agents with: brokerctl sandbox -- AGENT";

    /** Runs a command to its end or a timeout. */
    public interface Exec {
        /** What a command did: its exit code (-1 on timeout) and its stderr. */
        record Result(int exit, String stderr, boolean timedOut) {
        }

        Result run(List<String> argv, Duration timeout) throws IOException;
    }

    private final Path root;
    private final Map<String, String> env;
    private final Path userHome;
    private final int uid;
    private final long selfPid;
    private final Function<String, Optional<Path>> which;
    private final Exec exec;
    private RunContainment containment;
    private RunCgroup cgroup;
    /** Files.isWritable: access(2), so root may write anything; tests replace it to reach the other branch. */
    java.util.function.Predicate<Path> writable = Files::isWritable;

    /**
     * @param root     where {@code proc/} and {@code sys/} are ({@code /} on a real host)
     * @param env      the environment whose variable names are checked (values are never read)
     * @param userHome the home whose credential files are looked for
     * @param uid      this process's effective uid
     * @param selfPid  this process's pid, where the walk up the parent chain starts
     * @param which    finds a tool by name ({@code bwrap}, {@code pasta}, {@code slirp4netns})
     * @param exec     runs the bwrap trial
     */
    public HostProbe(Path root, Map<String, String> env, Path userHome, int uid, long selfPid,
            Function<String, Optional<Path>> which, Exec exec) {
        this.root = root;
        this.env = Map.copyOf(env);
        this.userHome = userHome;
        this.uid = uid;
        this.selfPid = selfPid;
        this.which = which;
        this.exec = exec;
    }

    /** This process on this host. */
    public static HostProbe system() {
        Map<String, String> env = System.getenv();
        // $HOME, as the shell's ~ and an agent's tools see it; the JVM's user.home comes from passwd
        String home = env.get("HOME");
        Path userHome = home != null && home.startsWith("/") ? Path.of(home) : Path.of(System.getProperty("user.home"));
        return new HostProbe(Path.of("/"), env, userHome, currentUid(),
                ProcessHandle.current().pid(),
                tool -> tool.equals("bwrap") ? Bwrap.find(env.get("PATH")) : onPath(tool, env.get("PATH")),
                HostProbe::runProcess);
    }

    // ---------------------------------------------------------------- contained runs

    /**
     * Can approved runs be contained here: is bwrap there, and does it make a PID namespace as this
     * user? Runs the trial once per probe (up to {@link #BWRAP_TIMEOUT}).
     */
    public synchronized RunContainment runContainment() {
        if (containment == null) {
            containment = tryBwrap();
        }
        return containment;
    }

    /** The fallback when runs cannot be contained: this process's delegated cgroup v2, if any. */
    public synchronized RunCgroup runCgroup() {
        if (cgroup == null) {
            cgroup = RunCgroup.find(root, writable);
        }
        return cgroup;
    }

    private RunContainment tryBwrap() {
        Optional<Path> bwrap = which.apply("bwrap");
        if (bwrap.isEmpty()) {
            return new RunContainment(false, bwrap, "bwrap is not installed", Bwrap.INSTALL);
        }
        List<String> argv = new ArrayList<>();
        argv.add(bwrap.get().toString());
        argv.addAll(BWRAP_TRIAL);
        Exec.Result r;
        try {
            r = exec.run(argv, BWRAP_TIMEOUT);
        } catch (IOException e) {
            return new RunContainment(false, bwrap, bwrap.get() + " cannot be started: " + oneLine(e.getMessage()),
                    Bwrap.INSTALL);
        }
        if (r.timedOut()) {
            return new RunContainment(false, bwrap, bwrap.get() + " did not finish within "
                    + BWRAP_TIMEOUT.toSeconds() + "s", "");
        }
        if (r.exit() != 0) {
            String line = lastLine(r.stderr());
            return new RunContainment(false, bwrap, bwrap.get() + " cannot make a PID namespace (exit "
                    + r.exit() + (line.isEmpty() ? "" : ": " + line) + ")", usernsFix());
        }
        return new RunContainment(true, bwrap, bwrap.get() + " makes a PID namespace as this user", "");
    }

    /** The fix for a bwrap that fails: whichever user-namespace switch is off here, else a generic one. */
    private String usernsFix() {
        if ("0".equals(sysctl("kernel/unprivileged_userns_clone"))) {
            return "sudo sysctl -w kernel.unprivileged_userns_clone=1";
        }
        if ("0".equals(sysctl("user/max_user_namespaces"))) {
            return "sudo sysctl -w user.max_user_namespaces=15000";
        }
        if ("1".equals(sysctl("kernel/apparmor_restrict_unprivileged_userns"))) {
            return APPARMOR_FIX;
        }
        return "check that unprivileged user namespaces work: bwrap --ro-bind / / --unshare-pid -- /bin/true";
    }

    static final String APPARMOR_FIX = "give bwrap an AppArmor profile that allows userns (Ubuntu:"
            + " /etc/apparmor.d/bwrap-userns-restrict from the apparmor package, then sudo systemctl reload apparmor),"
            + " or allow it for everyone: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0";

    // ---------------------------------------------------------------- host

    /**
     * The host's findings: bwrap, contained runs, user namespaces, TIOCSTI, ptrace, user-mode
     * networking, Landlock, abstract sockets, a terminal multiplexer, credential files and
     * secret-looking variable names.
     */
    public List<Finding> host() {
        List<Finding> all = new ArrayList<>();
        RunContainment c = runContainment();
        if (c.bwrap().isEmpty()) {
            all.add(Finding.fail("bwrap", "bwrap is not installed: no sandbox, runs not contained", Bwrap.INSTALL));
        } else {
            all.add(Finding.ok("bwrap", "bwrap found: " + c.bwrap().get()));
            all.add(c.contained() ? Finding.ok("bwrap-usable", c.reason())
                    : Finding.fail("bwrap-usable", c.reason(), c.fix()));
        }
        all.add(c.contained()
                ? Finding.ok("runs-contained", "runs can be contained: each approved command can get a PID"
                        + " namespace that dies with it")
                : Finding.fail("runs-contained", "runs not contained: " + c.reason(), c.fix()));
        if (!c.contained()) {
            all.add(cgroupFinding(runCgroup()));
        }
        all.addAll(userNamespaces(c.contained()));
        all.add(tiocsti());
        all.add(ptrace());
        Optional<Path> net = userModeNetworking();
        all.add(net.isPresent()
                ? Finding.ok("user-net", "user-mode networking for the sandbox: " + net.get())
                : Finding.warn("user-net", "neither pasta nor slirp4netns is installed: a sandbox cannot have"
                        + " its own network namespace and keep internet access",
                        "sudo apt-get install passt   (or: sudo apt-get install slirp4netns)"));
        Optional<Boolean> landlock = landlock();
        all.add(landlock.isEmpty()
                ? Finding.info("landlock", "cannot tell whether Landlock is enabled (" + rel("sys/kernel/security/lsm")
                        + " is not readable)")
                : landlock.get() ? Finding.ok("landlock", "Landlock is enabled")
                : Finding.info("landlock", "Landlock is not enabled (not in " + rel("sys/kernel/security/lsm") + ")"));
        all.add(abstractSockets(c.contained(), net, landlock.orElse(false)));
        all.add(multiplexer());
        all.add(credentials());
        all.add(secretVariables());
        return all;
    }

    /** Without a namespace: whether a daemon started from here could give each run a cgroup to kill whole. */
    static Finding cgroupFinding(RunCgroup g) {
        if (g.dir().isPresent()) {
            return Finding.warn("runs-cgroup", "fallback: a daemon started from here puts each run in a cgroup"
                    + " of its own under " + g.dir().get() + " and kills it whole at the run's end (setsid and"
                    + " double forks included) and at the next daemon start; weaker than a namespace: a run can"
                    + " move itself out, and runs outlive a daemon killed with SIGKILL until the next start",
                    "make runs contained (the runs-contained fix)");
        }
        return Finding.fail("runs-cgroup", "no cgroup fallback either: " + g.reason() + "; runs get a process"
                + " group only, and what leaves it (setsid) keeps running with the values",
                g.fix().isEmpty() ? "make runs contained (the runs-contained fix)" : g.fix());
    }

    List<Finding> userNamespaces(boolean bwrapWorks) {
        List<Finding> all = new ArrayList<>();
        // When bwrap works anyway (setuid bwrap, an AppArmor profile) a switch that is off blocks nothing.
        Finding.Status blocked = bwrapWorks ? Finding.Status.INFO : Finding.Status.FAIL;
        String clone = sysctl("kernel/unprivileged_userns_clone");
        if ("0".equals(clone)) {
            all.add(new Finding("userns-clone", blocked, "kernel.unprivileged_userns_clone = 0: unprivileged"
                    + " user namespaces are off" + (bwrapWorks ? " (bwrap works anyway)" : ""),
                    "sudo sysctl -w kernel.unprivileged_userns_clone=1 && echo kernel.unprivileged_userns_clone=1"
                            + " | sudo tee /etc/sysctl.d/60-brokerctl-userns.conf"));
        } else {
            all.add(Finding.ok("userns-clone", clone == null ? "kernel.unprivileged_userns_clone: not present"
                    + " (no such switch in this kernel)" : "kernel.unprivileged_userns_clone = " + clone));
        }
        String max = sysctl("user/max_user_namespaces");
        if ("0".equals(max)) {
            all.add(new Finding("userns-max", blocked, "user.max_user_namespaces = 0: no user namespaces can be made"
                    + (bwrapWorks ? " (bwrap works anyway)" : ""),
                    "sudo sysctl -w user.max_user_namespaces=15000 && echo user.max_user_namespaces=15000"
                            + " | sudo tee /etc/sysctl.d/60-brokerctl-userns.conf"));
        } else {
            all.add(Finding.ok("userns-max", max == null ? "user.max_user_namespaces: not present"
                    : "user.max_user_namespaces = " + max));
        }
        String apparmor = sysctl("kernel/apparmor_restrict_unprivileged_userns");
        if ("1".equals(apparmor)) {
            all.add(new Finding("userns-apparmor", blocked, "kernel.apparmor_restrict_unprivileged_userns = 1:"
                    + " AppArmor denies user namespaces to programs without a profile"
                    + (bwrapWorks ? " (bwrap has one: it works)" : ", bwrap included"), bwrapWorks ? "" : APPARMOR_FIX));
        } else {
            all.add(Finding.ok("userns-apparmor", apparmor == null
                    ? "kernel.apparmor_restrict_unprivileged_userns: not present (no AppArmor user-namespace restriction)"
                    : "kernel.apparmor_restrict_unprivileged_userns = " + apparmor));
        }
        return all;
    }

    Finding tiocsti() {
        String v = sysctl("dev/tty/legacy_tiocsti");
        if (v == null) {
            return Finding.warn("tiocsti", "dev.tty.legacy_tiocsti: not present (kernel before 6.2): any process"
                    + " on a terminal can inject keystrokes into it (TIOCSTI)",
                    SANDBOX + " (it gets a pseudo-terminal of its own), or a kernel of 6.2 or later");
        }
        if (v.equals("0")) {
            return Finding.ok("tiocsti", "dev.tty.legacy_tiocsti = 0: TIOCSTI keystroke injection needs CAP_SYS_ADMIN");
        }
        return Finding.warn("tiocsti", "dev.tty.legacy_tiocsti = " + v + ": any process on a terminal can inject"
                + " keystrokes into it (TIOCSTI)", "sudo sysctl -w dev.tty.legacy_tiocsti=0 && echo"
                + " dev.tty.legacy_tiocsti=0 | sudo tee /etc/sysctl.d/60-brokerctl-tiocsti.conf");
    }

    Finding ptrace() {
        String v = sysctl("kernel/yama/ptrace_scope");
        String fix = "sudo sysctl -w kernel.yama.ptrace_scope=1 && echo kernel.yama.ptrace_scope=1"
                + " | sudo tee /etc/sysctl.d/60-brokerctl-ptrace.conf   (2: only root may attach)";
        if (v == null) {
            return Finding.warn("ptrace-scope", "Yama is not enabled (no kernel.yama.ptrace_scope): same-user"
                    + " processes can ptrace each other; only non-dumpable ones are safe",
                    SANDBOX + " (other processes are not visible from its PID namespace), or boot with Yama"
                            + " (CONFIG_SECURITY_YAMA, lsm=...,yama)");
        }
        if (v.equals("0")) {
            return Finding.warn("ptrace-scope", "kernel.yama.ptrace_scope = 0: same-user processes can ptrace"
                    + " each other (read memory, inject code)", fix);
        }
        String who = switch (v) {
            case "1" -> "only a parent (or a declared tracer) or root may ptrace";
            case "2" -> "only root may ptrace";
            default -> "nobody may ptrace";
        };
        return Finding.ok("ptrace-scope", "kernel.yama.ptrace_scope = " + v + ": " + who);
    }

    Optional<Path> userModeNetworking() {
        Optional<Path> pasta = which.apply("pasta");
        return pasta.isPresent() ? pasta : which.apply("slirp4netns");
    }

    /** Landlock in the list of active LSMs; empty when the list cannot be read. */
    Optional<Boolean> landlock() {
        String lsm = read(root.resolve("sys/kernel/security/lsm"));
        if (lsm == null) {
            return Optional.empty();
        }
        for (String m : lsm.split(",")) {
            if (m.trim().equals("landlock")) {
                return Optional.of(true);
            }
        }
        return Optional.of(false);
    }

    Finding abstractSockets(boolean bwrapWorks, Optional<Path> net, boolean landlock) {
        if (bwrapWorks && net.isPresent()) {
            return Finding.ok("abstract-sockets", "abstract Unix sockets (X11, D-Bus) are out of a sandbox's reach:"
                    + " its own network namespace, with " + net.get().getFileName() + " for internet access");
        }
        if (landlock && kernelAtLeast(6, 12)) {
            return Finding.ok("abstract-sockets", "abstract Unix sockets (X11, D-Bus) are out of a sandbox's reach:"
                    + " Landlock scoping (LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET)");
        }
        String fix = bwrapWorks ? "sudo apt-get install passt" : "make bwrap work (see bwrap-usable), then: sudo apt-get install passt";
        return Finding.warn("abstract-sockets", "nothing keeps a sandboxed agent from abstract Unix sockets (X11's"
                + " @/tmp/.X11-unix/X0, D-Bus): no network namespace with user-mode networking"
                + (landlock ? ", and this kernel's Landlock has no abstract-socket scoping (Linux 6.12+)" : ", no Landlock"),
                fix);
    }

    Finding multiplexer() {
        String why = null;
        if (env.containsKey("TMUX")) {
            why = "TMUX is set";
        } else if (env.containsKey("STY")) {
            why = "STY is set";
        } else {
            long pid = selfPid;
            for (int i = 0; i < 64 && pid > 1; i++) {
                String stat = read(root.resolve("proc/" + pid + "/stat"));
                if (stat == null) {
                    break;
                }
                int open = stat.indexOf('(');
                int close = stat.lastIndexOf(')');
                if (open < 0 || close < open) {
                    break;
                }
                String comm = stat.substring(open + 1, close);
                if (comm.startsWith("tmux") || comm.equalsIgnoreCase("screen")) {
                    why = "process " + pid + " (" + comm + ") is an ancestor";
                    break;
                }
                String[] rest = stat.substring(close + 1).trim().split(" ");
                try {
                    pid = Long.parseLong(rest[1]);
                } catch (RuntimeException e) {
                    break;
                }
            }
        }
        if (why == null) {
            return Finding.ok("multiplexer", "this terminal is not inside tmux or screen");
        }
        return Finding.warn("multiplexer", "this terminal runs inside tmux or screen (" + why + "): any process of"
                + " your user can read its screen and type into it", "run brokerctl approve in a terminal outside"
                + " tmux/screen, and " + SANDBOX + " (tmux and screen sockets are hidden there)");
    }

    Finding credentials() {
        List<String> present = new ArrayList<>();
        for (String c : CREDENTIALS) {
            if (Files.exists(userHome.resolve(c), LinkOption.NOFOLLOW_LINKS)) {
                present.add("~/" + c);
            }
        }
        if (present.isEmpty()) {
            return Finding.ok("credentials", "no credential files a sandbox would hide in " + userHome);
        }
        return Finding.info("credentials", "credential files any process of your user can read: "
                + String.join(" ", present), SANDBOX + " (they are hidden there)");
    }

    Finding secretVariables() {
        Set<String> names = new TreeSet<>();
        for (String name : env.keySet()) {
            if (SecretNames.looksSecret(name)) {
                names.add(name);
            }
        }
        if (names.isEmpty()) {
            return Finding.ok("secret-env", "no secret-looking variables in this environment");
        }
        return Finding.warn("secret-env", "secret-looking variables in this environment (names only): "
                + String.join(" ", names), "unset " + String.join(" ", names) + " before starting an agent, keep"
                + " them in the vault (brokerctl set ENV NAME), or " + SANDBOX + " (it removes them)");
    }

    // ---------------------------------------------------------------- files

    /** The broker home (0700, the user's), its vault files (0600) and the socket's directory (0700, no symlink). */
    public List<Finding> files(Path home, Path socket) {
        List<Finding> all = new ArrayList<>();
        all.add(privateDirectory("home", "broker home", home, "brokerctl init"));
        List<String> loose = new ArrayList<>();
        List<String> foreign = new ArrayList<>();
        for (String name : List.of("vault.db", "vault.db-wal", "vault.db-shm", "brokerd.log")) {
            Path f = home.resolve(name);
            if (!Files.exists(f, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            try {
                if (!owner(f).equals(uid)) {
                    foreign.add(f.toString());
                }
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(f, LinkOption.NOFOLLOW_LINKS);
                if (Files.isSymbolicLink(f) || !PosixFilePermissions.toString(perms).equals("rw-------")) {
                    loose.add(f.toString());
                }
            } catch (IOException e) {
                loose.add(f.toString());
            }
        }
        if (!foreign.isEmpty()) {
            all.add(Finding.fail("vault-files", "vault files not owned by you: " + String.join(" ", foreign),
                    "sudo chown " + uid + " " + String.join(" ", foreign)));
        } else if (!loose.isEmpty()) {
            all.add(Finding.fail("vault-files", "vault files that are not plain 0600 files: " + String.join(" ", loose),
                    "chmod 600 " + String.join(" ", loose)));
        } else {
            all.add(Finding.ok("vault-files", Files.exists(home.resolve("vault.db"))
                    ? "vault files are 0600 and yours" : "no vault yet in " + home));
        }
        all.add(privateDirectory("socket-dir", "socket directory", socket.getParent(), "brokerctl daemon --detach"));
        return all;
    }

    private Finding privateDirectory(String id, String what, Path dir, String creates) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return Finding.ok(id, what + " " + dir + " does not exist yet (" + creates + " makes it 0700)");
        }
        if (Files.isSymbolicLink(dir)) {
            return Finding.fail(id, what + " " + dir + " is a symlink: whoever can change it chooses where"
                    + " brokerctl's files go", "rm " + dir + " && mkdir -m 700 " + dir);
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return Finding.fail(id, what + " " + dir + " is not a directory", "move it away: mv " + dir + " " + dir + ".old");
        }
        try {
            Integer owner = owner(dir);
            if (!owner.equals(uid)) {
                return Finding.fail(id, what + " " + dir + " belongs to uid " + owner + ", not to you (uid " + uid + ")",
                        "sudo chown " + uid + " " + dir);
            }
            String perms = PosixFilePermissions.toString(Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS));
            if (!perms.equals("rwx------")) {
                return Finding.fail(id, what + " " + dir + " is " + perms + ", not rwx------ (0700)", "chmod 700 " + dir);
            }
        } catch (IOException e) {
            return Finding.fail(id, "cannot read the mode of " + what + " " + dir + ": " + oneLine(e.getMessage()),
                    "ls -ld " + dir);
        }
        return Finding.ok(id, what + " " + dir + " is 0700 and yours");
    }

    // ---------------------------------------------------------------- install

    /**
     * Whether this user can replace the brokerctl install: the jars (and CDS archives) in
     * {@code jar}'s directory and the launcher {@code bin/brokerctl} above it, as {@code bin/brokerctl}
     * finds them ({@code lib/} in an install, {@code cli/target/} in a build tree).
     */
    public List<Finding> install(Path jar) {
        Path jarDir = jar.toAbsolutePath().normalize().getParent();
        Path top = jarDir.getFileName() != null && jarDir.getFileName().toString().equals("target")
                && jarDir.getParent() != null && jarDir.getParent().getParent() != null
                ? jarDir.getParent().getParent() : jarDir.getParent();
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(jarDir, "brokerctl*.{jar,jsa}")) {
            ds.forEach(files::add);
        } catch (IOException e) {
            files.add(jar);
        }
        files.sort(null);
        Path script = top.resolve("bin/install.sh");
        String fix = "install into a root-owned prefix: sudo " + script + " --prefix /usr/local"
                + (Files.exists(script) ? "" : "   (bin/install.sh does not exist yet: a separate piece of work;"
                        + " until then copy bin/brokerctl and the jars into a root-owned bin/ and lib/)");
        List<Finding> all = new ArrayList<>();
        List<String> writable = new ArrayList<>();
        for (Path f : files) {
            replaceable(f).ifPresent(w -> writable.add(f.getFileName() + " (" + w + ")"));
        }
        all.add(writable.isEmpty()
                ? Finding.ok("install", "the brokerctl jars in " + jarDir + " cannot be replaced by your user")
                : Finding.warn("install", "your user can replace the brokerctl jars, and so can an agent outside a"
                        + " sandbox: " + String.join(", ", writable), fix));
        Path launcher = top.resolve("bin/brokerctl");
        if (!Files.exists(launcher)) {
            all.add(Finding.info("launcher", "no launcher at " + launcher));
        } else {
            Optional<String> w = replaceable(launcher);
            all.add(w.isEmpty()
                    ? Finding.ok("launcher", "the launcher " + launcher + " cannot be replaced by your user")
                    : Finding.warn("launcher", "your user can replace the launcher " + launcher + " (" + w.get()
                            + "), and so can an agent outside a sandbox", fix));
        }
        return all;
    }

    /** What lets this user replace {@code file}: itself writable, or a directory above it; empty if nothing. */
    Optional<String> replaceable(Path file) {
        if (writable.test(file)) {
            return Optional.of("writable");
        }
        Path child = file;
        for (Path dir = file.getParent(); dir != null; child = dir, dir = dir.getParent()) {
            if (writable.test(dir) && !stickyProtects(dir, child)) {
                return Optional.of(dir + " is writable");
            }
        }
        return Optional.empty();
    }

    /** A sticky directory (/tmp) lets only an entry's owner (or root) rename it. */
    private boolean stickyProtects(Path dir, Path child) {
        try {
            Integer mode = (Integer) Files.getAttribute(dir, "unix:mode");
            return (mode & 01000) != 0 && uid != 0 && !owner(child).equals(uid);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- daemon

    /**
     * The running daemon's hardening, from {@code /proc/PID}: non-dumpable (its {@code /proc} entries
     * then belong to root), and the attach mechanism off ({@code -XX:+DisableAttachMechanism} last on its
     * command line).
     */
    public List<Finding> daemon(long pid) {
        List<Finding> all = new ArrayList<>();
        Path status = root.resolve("proc/" + pid + "/status");
        String text = read(status);
        String restart = "restart it through bin/brokerctl: brokerctl stop && brokerctl daemon --detach";
        Integer realUid = text == null ? null : statusUid(text);
        Integer owner = null;
        try {
            owner = owner(status);
        } catch (IOException e) {
            // stays null
        }
        if (text == null || realUid == null || owner == null) {
            all.add(Finding.info("daemon-dumpable", "cannot read " + status + ": cannot tell whether the daemon"
                    + " is non-dumpable"));
        } else if (realUid == 0) {
            all.add(Finding.info("daemon-dumpable", "the daemon runs as root: whether it is dumpable does not show"
                    + " in /proc (its entries belong to root either way)"));
        } else if (owner == 0) {
            all.add(Finding.ok("daemon-dumpable", "the daemon is non-dumpable (its /proc/" + pid + " entries belong"
                    + " to root): same-user processes cannot read its memory or environment"));
        } else {
            all.add(Finding.fail("daemon-dumpable", "the daemon (pid " + pid + ") is dumpable: same-user processes can"
                    + " read its memory (/proc/" + pid + "/mem) and environment", restart));
        }
        byte[] cmdline = readBytes(root.resolve("proc/" + pid + "/cmdline"));
        if (cmdline == null || cmdline.length == 0) {
            all.add(Finding.info("daemon-attach", "cannot read /proc/" + pid + "/cmdline: cannot tell whether the"
                    + " daemon's attach mechanism is off"));
        } else {
            boolean off = false;
            for (String arg : new String(cmdline, StandardCharsets.UTF_8).split("\0")) {
                if (arg.equals("-XX:+DisableAttachMechanism")) {
                    off = true;
                } else if (arg.equals("-XX:-DisableAttachMechanism")) {
                    off = false;
                }
            }
            all.add(off ? Finding.ok("daemon-attach", "the daemon's attach mechanism is off (-XX:+DisableAttachMechanism)")
                    : Finding.fail("daemon-attach", "the daemon's attach mechanism is on: jcmd or jmap of your user"
                            + " can dump its heap", restart));
        }
        return all;
    }

    private static Integer statusUid(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("Uid:")) {
                String[] f = line.substring(4).trim().split("\\s+");
                try {
                    return Integer.parseInt(f[0]);
                } catch (NumberFormatException e) {
                    return null;
                }
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- helpers

    /** A sysctl's value from {@code proc/sys/NAME}, trimmed; null when absent or unreadable. */
    private String sysctl(String name) {
        String v = read(root.resolve("proc/sys/" + name));
        return v == null ? null : v.trim();
    }

    private boolean kernelAtLeast(int major, int minor) {
        String release = sysctl("kernel/osrelease");
        if (release == null) {
            return false;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(\\d+)\\.(\\d+)").matcher(release);
        if (!m.find()) {
            return false;
        }
        int maj = Integer.parseInt(m.group(1));
        int min = Integer.parseInt(m.group(2));
        return maj > major || (maj == major && min >= minor);
    }

    private String rel(String path) {
        return root.resolve(path).toString();
    }

    private static String read(Path p) {
        byte[] b = readBytes(p);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] readBytes(Path p) {
        // Not Files.readAllBytes: procfs reports size 0 and a sysctl read at the JDK's offsets comes back
        // short (max_user_namespaces 96365 read as "9"); a stream reads until EOF.
        try (InputStream in = Files.newInputStream(p)) {
            return in.readAllBytes();
        } catch (IOException | SecurityException e) {
            return null;
        }
    }

    private Integer owner(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    private static int currentUid() {
        try {
            // /proc/self belongs to this process's effective uid
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    static Optional<Path> onPath(String tool, String path) {
        if (path != null) {
            for (String dir : path.split(":")) {
                if (!dir.isEmpty() && dir.startsWith("/")) {
                    Path p = Path.of(dir, tool);
                    if (Files.isExecutable(p)) {
                        return Optional.of(p);
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static String lastLine(String s) {
        String[] lines = s.strip().split("\n");
        return oneLine(lines[lines.length - 1]);
    }

    private static String oneLine(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 200; i++) {
            char ch = s.charAt(i);
            b.append(ch < 0x20 || ch == 0x7f ? '?' : ch);
        }
        return b.toString().strip();
    }

    /** Runs {@code argv} with no stdin and stdout discarded, keeping stderr; killed after {@code timeout}. */
    static Exec.Result runProcess(List<String> argv, Duration timeout) throws IOException {
        Process p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        byte[][] err = new byte[1][];
        Thread pump = new Thread(() -> {
            try (InputStream in = p.getErrorStream()) {
                err[0] = in.readNBytes(4096);
            } catch (IOException e) {
                err[0] = new byte[0];
            }
        }, "doctor-bwrap-stderr");
        pump.setDaemon(true);
        pump.start();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(1, TimeUnit.SECONDS);
                return new Exec.Result(-1, "", true);
            }
            pump.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return new Exec.Result(-1, "", true);
        }
        byte[] e = err[0] == null ? new byte[0] : err[0];
        return new Exec.Result(p.exitValue(), new String(e, StandardCharsets.UTF_8), false);
    }
}

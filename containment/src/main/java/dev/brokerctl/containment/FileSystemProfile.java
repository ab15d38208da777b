package dev.brokerctl.containment;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What a contained process sees of the file system: everything read-only, a private {@code /tmp},
 * the project and the agent's own state writable, the files in those that name code run later
 * read-only again, and the broker's home, credential stores, terminal-multiplexer and container
 * sockets and the project's {@code .env*} files hidden; the daemon's socket bound in alone, in a
 * directory of mode 0700. Built once per user (home, broker paths, install), applied to any
 * project with {@link #bwrapArguments(Path)}: the sandbox for agents and, later, contained runs.
 */
public final class FileSystemProfile {

    /** What a mount does. Order in {@link #mounts(Path)} matters: later mounts cover earlier ones. */
    public enum Access {
        /** An empty private tmpfs ({@code /tmp}, {@code /dev/shm}, the whole home in strict). */
        PRIVATE,
        /** Bound read-write. */
        WRITABLE,
        /** Bound read-only over whatever was there (so also inside a writable bind). */
        READ_ONLY,
        /** Covered: an empty tmpfs for a directory, {@code /dev/null} for a file or socket. */
        HIDDEN,
        /** The daemon's socket, alone in a new 0700 directory at its own path. */
        SOCKET
    }

    /** One line of the profile, with why it is there (printed by {@code --show}). */
    public record Mount(Access access, Path path, String reason) {
        public Mount {
            Objects.requireNonNull(access);
            Objects.requireNonNull(path);
            Objects.requireNonNull(reason);
        }
    }

    /** Credential stores an agent reaches only through the broker, relative to the home. */
    public static final List<String> CREDENTIAL_STORES = List.of(".ssh", ".aws", ".config/gcloud", ".azure",
            ".kube", ".docker/config.json", ".netrc", ".git-credentials", ".config/gh", ".npmrc", ".pypirc",
            ".pgpass", ".gnupg", ".password-store");

    /** Shell start-up files, relative to the home: code that runs at the next login. */
    public static final List<String> SHELL_STARTUP = List.of(".bashrc", ".bash_profile", ".bash_login",
            ".bash_logout", ".profile", ".zshrc", ".zshenv", ".zprofile", ".zlogin", ".zlogout", ".config/fish");

    /** Project files that name code run later by the human's tools, outside any sandbox. */
    public static final List<String> PROJECT_RUNS_LATER = List.of(".git/config", ".git/hooks", ".vscode",
            ".claude/settings.json", ".claude/settings.local.json", ".claude/hooks");

    /** Container engine sockets (their groups are root-equivalent) and screen's sockets. */
    static final List<String> SYSTEM_SOCKETS = List.of("/run/docker.sock", "/var/run/docker.sock",
            "/run/podman", "/run/screen", "/var/run/screen", "/run/dbus/system_bus_socket");

    /** Directories not searched for {@code .env*} files: git's own, and installed dependencies. */
    private static final Set<String> NOT_SEARCHED = Set.of(".git", "node_modules");

    private final Path home;
    private final int uid;
    private final Path brokerHome;
    private final Path runtimeDir;
    private final Path socket;
    private final List<Path> install;
    private final Agent agent;
    private final boolean strict;
    private final List<Path> extraWritable;
    private final List<Path> extraReadOnly;
    private final List<Path> multiplexerDirs;
    private final Path javaHome;

    private FileSystemProfile(Builder b) {
        home = b.home;
        uid = b.uid;
        brokerHome = b.brokerHome;
        runtimeDir = b.runtimeDir;
        socket = b.socket;
        install = List.copyOf(b.install);
        agent = b.agent;
        strict = b.strict;
        extraWritable = List.copyOf(b.extraWritable);
        extraReadOnly = List.copyOf(b.extraReadOnly);
        multiplexerDirs = List.copyOf(b.multiplexerDirs);
        javaHome = b.javaHome;
    }

    /** A profile for the user whose home is {@code home} and whose uid is {@code uid}. */
    public static Builder builder(Path home, int uid) {
        return new Builder(home, uid);
    }

    /** The daemon socket this profile binds in, or null (no daemon was running). */
    public Path socket() {
        return socket;
    }

    public Agent agent() {
        return agent;
    }

    public boolean strict() {
        return strict;
    }

    /**
     * The bwrap arguments that set up the file system for a process working in {@code projectDir}
     * (mounts, then {@code --chdir}); namespaces and the command are the caller's.
     *
     * @throws ContainmentException when the project is not a directory, or is the home or above it
     */
    public List<String> bwrapArguments(Path projectDir) throws ContainmentException {
        List<String> args = new ArrayList<>(List.of("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"));
        for (Mount m : mounts(projectDir)) {
            String p = m.path().toString();
            switch (m.access()) {
                case PRIVATE -> args.addAll(List.of("--tmpfs", p));
                case WRITABLE -> args.addAll(List.of("--bind", p, p));
                case READ_ONLY -> args.addAll(List.of("--ro-bind", p, p));
                case HIDDEN -> {
                    if (Files.isDirectory(m.path(), LinkOption.NOFOLLOW_LINKS)) {
                        args.addAll(List.of("--perms", "0700", "--tmpfs", p));
                    } else {
                        args.addAll(List.of("--ro-bind", "/dev/null", p));
                    }
                }
                case SOCKET -> args.addAll(List.of("--perms", "0700", "--tmpfs", m.path().getParent().toString(),
                        "--bind", p, p));
                default -> throw new AssertionError(m.access());
            }
        }
        args.addAll(List.of("--chdir", project(projectDir).toString()));
        return args;
    }

    /**
     * The mounts for {@code projectDir}, in the order they are applied, each with its reason.
     * Only what exists on the host is listed (a missing path needs no covering); paths under the
     * private {@code /tmp} are not hidden again unless a bind brings them back.
     */
    public List<Mount> mounts(Path projectDir) throws ContainmentException {
        Path project = project(projectDir);
        List<Mount> m = new ArrayList<>();
        m.add(new Mount(Access.PRIVATE, Path.of("/tmp"), "private /tmp (also hides tmux's and other /tmp sockets)"));
        m.add(new Mount(Access.PRIVATE, Path.of("/dev/shm"), "private shared memory"));
        if (strict) {
            m.add(new Mount(Access.PRIVATE, home, "strict: the home is empty but for what is bound below"));
        }
        if (runtimeDir != null && Files.isDirectory(runtimeDir)) {
            m.add(new Mount(Access.HIDDEN, runtimeDir, "the user's runtime dir (session bus, agents, sockets)"));
        }
        for (String s : SYSTEM_SOCKETS) {
            addIfPresent(m, Access.HIDDEN, Path.of(s), "container engine or screen socket");
        }

        List<Path> writable = new ArrayList<>();
        writable.add(project);
        m.add(new Mount(Access.WRITABLE, project, "the project"));
        for (Path p : agent.state(home)) {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                writable.add(p);
                m.add(new Mount(Access.WRITABLE, p, agent.id() + "'s own state"));
            }
        }
        for (Path p : extraWritable) {
            writable.add(p);
            m.add(new Mount(Access.WRITABLE, p, "--bind"));
        }

        for (Path p : install) {
            addIfPresent(m, Access.READ_ONLY, p, "the brokerctl install");
        }
        for (Path p : extraReadOnly) {
            addIfPresent(m, Access.READ_ONLY, p, "--bind :ro");
        }
        if (strict && javaHome != null) {
            addIfPresent(m, Access.READ_ONLY, javaHome, "strict: the JVM brokerctl runs on");
        }
        for (Path p : agent.runsLater(home)) {
            addIfPresent(m, Access.READ_ONLY, p, agent.id() + " runs it later: settings and hooks");
        }
        for (Path p : projectRunsLater(project)) {
            addIfPresent(m, Access.READ_ONLY, p, "the human's tools run it later");
        }
        if (!strict) {
            for (String s : SHELL_STARTUP) {
                Path p = home.resolve(s);
                if (under(p, writable)) {
                    addIfPresent(m, Access.READ_ONLY, p, "shell start-up file");
                }
            }
        }

        List<Path> bound = new ArrayList<>(writable);
        bound.addAll(install);
        bound.addAll(extraReadOnly);
        addHidden(m, brokerHome, bound, "the broker home (vault, log)");
        for (String s : CREDENTIAL_STORES) {
            addHidden(m, home.resolve(s), bound, "credential store");
        }
        for (Path p : multiplexerDirs) {
            addHidden(m, p, bound, "tmux or screen sockets");
        }
        addHidden(m, Path.of("/tmp", "tmux-" + uid), bound, "tmux sockets");
        for (Path p : dotEnvFiles(project)) {
            m.add(new Mount(Access.HIDDEN, p, ".env file in the project"));
        }
        if (socket != null && Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            m.add(new Mount(Access.SOCKET, socket, "the daemon's socket, alone (BROKERCTL_SOCKET)"));
        }
        return dedupe(m);
    }

    /**
     * Creates, when missing, the files that must exist to be bound read-only: the project's
     * {@code .git/hooks} (when {@code .git} is a directory) and the agent's settings ({@code {}}), so
     * that a sandboxed agent cannot create them. Returns what it created.
     */
    public List<Path> createPlaceholders(Path projectDir) throws ContainmentException {
        Path project = project(projectDir);
        List<Path> created = new ArrayList<>();
        try {
            Path git = project.resolve(".git");
            Path hooks = git.resolve("hooks");
            if (Files.isDirectory(git, LinkOption.NOFOLLOW_LINKS) && !Files.exists(hooks, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(hooks);
                created.add(hooks);
            }
            Path settings = switch (agent) {
                case CLAUDE -> home.resolve(".claude/settings.json");
                case CODEX -> home.resolve(".codex/config.toml");
                case GENERIC -> null;
            };
            if (settings != null && !Files.exists(settings, LinkOption.NOFOLLOW_LINKS)) {
                Path dir = settings.getParent();
                if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
                    created.add(dir);
                }
                Files.writeString(settings, agent == Agent.CLAUDE ? "{}\n" : "", java.nio.file.StandardOpenOption.CREATE_NEW);
                Files.setPosixFilePermissions(settings, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
                created.add(settings);
            }
        } catch (IOException e) {
            throw new ContainmentException("cannot create a read-only placeholder in " + project + " or the home: "
                    + e.getMessage());
        }
        return created;
    }

    private Path project(Path projectDir) throws ContainmentException {
        Path project;
        try {
            project = projectDir.toRealPath();
        } catch (IOException e) {
            throw new ContainmentException("the project directory " + projectDir + " does not exist");
        }
        if (!Files.isDirectory(project)) {
            throw new ContainmentException("the project directory " + project + " is not a directory");
        }
        Path realHome = real(home);
        if (realHome.startsWith(project)) {
            throw new ContainmentException("the project directory " + project + " is the home or contains it,"
                    + " so the sandbox would leave the home writable; start it in the project's own directory");
        }
        return project;
    }

    static List<Path> projectRunsLater(Path project) {
        List<Path> out = new ArrayList<>();
        Path git = project.resolve(".git");
        if (Files.isRegularFile(git, LinkOption.NOFOLLOW_LINKS)) {
            out.add(git);   // a worktree's "gitdir:" line: pointed elsewhere, it would choose the config git obeys
        }
        for (String s : PROJECT_RUNS_LATER) {
            out.add(project.resolve(s));
        }
        Path hooksPath = configuredHooksPath(project.resolve(".git/config"));
        if (hooksPath != null) {
            out.add(project.resolve(hooksPath).normalize());
        }
        return out;
    }

    /** {@code core.hooksPath} from a git config file (husky and friends point it into the project). */
    static Path configuredHooksPath(Path config) {
        if (!Files.isRegularFile(config)) {
            return null;
        }
        try {
            boolean core = false;
            for (String line : Files.readAllLines(config)) {
                String t = line.trim();
                if (t.startsWith("[")) {
                    core = t.toLowerCase(java.util.Locale.ROOT).startsWith("[core");
                } else if (core && t.toLowerCase(java.util.Locale.ROOT).startsWith("hookspath")) {
                    int eq = t.indexOf('=');
                    if (eq > 0) {
                        String v = t.substring(eq + 1).trim();
                        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
                            v = v.substring(1, v.length() - 1);
                        }
                        return v.isEmpty() ? null : Path.of(v);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    /** Every {@code .env*} file or link below the project, not looking into .git or node_modules. */
    static List<Path> dotEnvFiles(Path project) {
        List<Path> found = new ArrayList<>();
        try {
            Files.walkFileTree(project, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    if (!dir.equals(project) && NOT_SEARCHED.contains(dir.getFileName().toString())) {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    if (!dir.equals(project) && dir.getFileName().toString().startsWith(".env")) {
                        found.add(dir);
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (file.getFileName().toString().startsWith(".env")) {
                        found.add(file);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE;   // unreadable to the user: unreadable inside too
                }
            });
        } catch (IOException e) {
            // walkFileTree reports per-file failures above; nothing else to do
        }
        found.sort(null);
        return found;
    }

    private static void addIfPresent(List<Mount> m, Access access, Path p, String reason) {
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            m.add(new Mount(access, p, reason));
        }
    }

    /** Hides {@code p} if it exists and the private /tmp does not already hide it. */
    private static void addHidden(List<Mount> m, Path p, List<Path> bound, String reason) {
        if (p == null || !Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (p.startsWith("/tmp") && !under(p, bound)) {
            return;
        }
        m.add(new Mount(Access.HIDDEN, p, reason));
    }

    private static boolean under(Path p, List<Path> roots) {
        for (Path r : roots) {
            if (p.startsWith(r) || real(p).startsWith(real(r))) {
                return true;
            }
        }
        return false;
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    private static List<Mount> dedupe(List<Mount> m) {
        Set<String> seen = new LinkedHashSet<>();
        List<Mount> out = new ArrayList<>();
        for (Mount x : m) {
            if (seen.add(x.access() + " " + x.path())) {
                out.add(x);
            }
        }
        return out;
    }

    /** Collects the paths of one user's setup. Home and uid are required; the rest optional. */
    public static final class Builder {
        private final Path home;
        private final int uid;
        private Path brokerHome;
        private Path runtimeDir;
        private Path socket;
        private final List<Path> install = new ArrayList<>();
        private Agent agent = Agent.GENERIC;
        private boolean strict;
        private final List<Path> extraWritable = new ArrayList<>();
        private final List<Path> extraReadOnly = new ArrayList<>();
        private final List<Path> multiplexerDirs = new ArrayList<>();
        private Path javaHome;

        private Builder(Path home, int uid) {
            this.home = absolute(Objects.requireNonNull(home, "home"));
            this.uid = uid;
        }

        /** {@code $BROKERCTL_HOME} (vault and log): hidden. */
        public Builder brokerHome(Path p) {
            brokerHome = absolute(p);
            return this;
        }

        /** {@code $XDG_RUNTIME_DIR}: hidden (the socket is bound back alone when it lives there). */
        public Builder runtimeDir(Path p) {
            runtimeDir = p == null ? null : absolute(p);
            return this;
        }

        /** The daemon's socket, bound in alone when it exists. */
        public Builder socket(Path p) {
            socket = p == null ? null : absolute(p);
            return this;
        }

        /** A directory or file of the brokerctl install (jars, launcher): read-only. */
        public Builder install(Path p) {
            install.add(absolute(p));
            return this;
        }

        public Builder agent(Agent a) {
            agent = Objects.requireNonNull(a);
            return this;
        }

        /** Strict: the home is an empty tmpfs but for the project, the agent's state and the binds. */
        public Builder strict(boolean s) {
            strict = s;
            return this;
        }

        /** A path the user asked for with {@code --bind PATH[:ro]}. */
        public Builder bind(Path p, boolean readOnly) {
            (readOnly ? extraReadOnly : extraWritable).add(absolute(p));
            return this;
        }

        /** A directory of tmux or screen sockets ({@code $TMUX_TMPDIR}, the one {@code $TMUX} names). */
        public Builder multiplexerDir(Path p) {
            if (p != null) {
                multiplexerDirs.add(absolute(p));
            }
            return this;
        }

        /** The JVM's home, kept readable in strict (it may live in the home). */
        public Builder javaHome(Path p) {
            javaHome = p == null ? null : absolute(p);
            return this;
        }

        public FileSystemProfile build() {
            return new FileSystemProfile(this);
        }

        private static Path absolute(Path p) {
            return p.toAbsolutePath().normalize();
        }
    }
}

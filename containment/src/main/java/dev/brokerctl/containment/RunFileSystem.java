package dev.brokerctl.containment;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The file system an approved command sees (the default {@code sandbox} run profile): the host's,
 * writable as the user's own, except what runs later outside the run, which stays read-only (the
 * user's shell start-up files, agents' settings and hooks, the cwd's {@code .git/config},
 * {@code .git/hooks}, {@code .vscode}, {@code .envrc}), and the broker home and credential stores,
 * which are hidden: an approved command runs code the agent may have written ({@code npm test}),
 * so it gets no more than the agent's sandbox would. Unlike the agent's sandbox, {@code /tmp} and
 * the network are the host's: a run is one command the human approved, with its values.
 */
public final class RunFileSystem {

    private RunFileSystem() {
    }

    /** bwrap's mount arguments for a run in {@code cwd}, ending with {@code --chdir cwd}. */
    public static List<String> arguments(Path home, Path brokerHome, Path cwd) {
        List<String> args = new ArrayList<>(List.of("--bind", "/", "/"));
        List<Path> readOnly = new ArrayList<>();
        if (home != null) {
            FileSystemProfile.SHELL_STARTUP.forEach(s -> readOnly.add(home.resolve(s)));
            for (Agent a : Agent.values()) {
                readOnly.addAll(a.runsLater(home));
            }
        }
        readOnly.addAll(FileSystemProfile.projectRunsLater(cwd));
        for (Path p : readOnly) {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                args.addAll(List.of("--ro-bind", p.toString(), p.toString()));
            }
        }
        List<Path> hidden = new ArrayList<>();
        if (brokerHome != null) {
            hidden.add(brokerHome);
        }
        if (home != null) {
            FileSystemProfile.CREDENTIAL_STORES.forEach(s -> hidden.add(home.resolve(s)));
        }
        for (Path p : hidden) {
            if (cwd.startsWith(p)) {
                continue;   // never hide the directory the command works in
            }
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                args.addAll(List.of("--perms", "0700", "--tmpfs", p.toString()));
            } else if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                args.addAll(List.of("--ro-bind", "/dev/null", p.toString()));
            }
        }
        args.addAll(List.of("--dev", "/dev", "--proc", "/proc", "--chdir", cwd.toString()));
        return args;
    }
}

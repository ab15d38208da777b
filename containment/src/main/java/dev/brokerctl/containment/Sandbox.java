package dev.brokerctl.containment;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The whole command line that starts a program contained: [pasta] bwrap with its own user, PID,
 * IPC, UTS (and, without pasta, network) namespaces, dying with its parent, the file system of a
 * {@link FileSystemProfile}, then {@code setsid --ctty --wait} and the program's own argv. No shell
 * is added anywhere.
 *
 * <p>The new session is made inside (setsid), not by bwrap's {@code --new-session}: setsid then
 * takes the terminal on its stdin (the caller's pty) as its controlling terminal, so the program
 * gets SIGINT, SIGWINCH and job control from that pty, while bwrap and pasta stay outside that
 * session and never receive the terminal's signals. TIOCSTI on that terminal reaches only the pty.
 */
public final class Sandbox {

    private final Path bwrap;
    private final Path setsid;
    private final Network.Choice network;
    private final FileSystemProfile profile;
    private final int uid;
    private final int gid;

    public Sandbox(Path bwrap, Path setsid, Network.Choice network, FileSystemProfile profile, int uid, int gid) {
        this.bwrap = Objects.requireNonNull(bwrap);
        this.setsid = Objects.requireNonNull(setsid);
        this.network = Objects.requireNonNull(network);
        this.profile = Objects.requireNonNull(profile);
        this.uid = uid;
        this.gid = gid;
    }

    /** {@code setsid} from util-linux: /usr/bin/setsid, else the first on {@code path}, else null. */
    public static Path findSetsid(String path) {
        for (String dir : ("/usr/bin:/bin" + (path == null ? "" : ":" + path)).split(":")) {
            if (!dir.isEmpty() && dir.startsWith("/")) {
                Path p = Path.of(dir, "setsid");
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    public Network.Choice network() {
        return network;
    }

    public FileSystemProfile profile() {
        return profile;
    }

    /** The argv that starts {@code command} contained, working in {@code projectDir}. */
    public List<String> argv(Path projectDir, List<String> command) throws ContainmentException {
        if (command.isEmpty()) {
            throw new ContainmentException("no command to start in the sandbox; name it after --, e.g.: brokerctl sandbox -- claude");
        }
        List<String> a = new ArrayList<>();
        if (network.network() == Network.PASTA) {
            a.addAll(Network.pastaArguments(network.pasta(), profile.strict()));
        }
        a.add(bwrap.toString());
        a.addAll(List.of("--die-with-parent", "--unshare-user", "--uid", Integer.toString(uid), "--gid",
                Integer.toString(gid), "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"));
        if (network.network() == Network.NONE) {
            a.add("--unshare-net");
        }
        a.addAll(profile.bwrapArguments(projectDir));
        a.addAll(List.of("--", setsid.toString(), "--ctty", "--wait", "--"));
        a.addAll(command);
        return a;
    }
}

package dev.brokerctl.containment;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The fallback when no PID namespace can be made: a cgroup v2 directory delegated to this user,
 * under which the daemon gives every run a cgroup of its own and kills it whole ({@code
 * cgroup.kill}) when the run ends, {@code setsid} and double forks included, and what a daemon
 * killed with SIGKILL left behind when the next one starts.
 *
 * <p>Delegated means: the cgroup this process is in (the {@code 0::} line of {@code
 * /proc/self/cgroup}) is a directory of the mounted cgroup v2 hierarchy that this user may create
 * directories in and move processes into ({@code cgroup.procs} writable), as systemd makes a user
 * session's scopes. A same-user process can move itself out of such a cgroup, so this is weaker
 * than a namespace, and said so.
 *
 * @param dir    the delegated cgroup directory, when there is one
 * @param reason why there is none (or a one-line description when there is)
 * @param fix    what would make one ({@code ""} when there is one, or nothing brokerctl knows to do)
 */
public record RunCgroup(Optional<Path> dir, String reason, String fix) {

    /** How to start the daemon in a delegated cgroup under systemd. */
    public static final String FIX = "start the daemon in a delegated cgroup: systemd-run --user --scope -p Delegate=yes"
            + " brokerctl daemon --detach";

    /**
     * Finds this process's delegated cgroup. {@code root} holds {@code proc/} (and the hierarchy's
     * mount point, relative to it), so tests can feed a fake tree; {@code writable} is access(2)'s
     * W_OK.
     */
    public static RunCgroup find(Path root, Predicate<Path> writable) {
        String cgroups = read(root.resolve("proc/self/cgroup"));
        String mounts = read(root.resolve("proc/self/mountinfo"));
        if (cgroups == null || mounts == null) {
            return none("cannot read /proc/self/cgroup and /proc/self/mountinfo", "");
        }
        String path = null;
        for (String line : cgroups.split("\n")) {
            if (line.startsWith("0::")) {
                path = line.substring(3).strip();
            }
        }
        if (path == null || !path.startsWith("/")) {
            return none("this process is in no cgroup v2 (no 0:: line in /proc/self/cgroup)", "");
        }
        Optional<Path> dir = directory(root, mounts, path);
        if (dir.isEmpty()) {
            return none("no cgroup v2 hierarchy is mounted where this process's cgroup " + path + " is", "");
        }
        Path d = dir.get();
        if (!Files.isDirectory(d)) {
            return none("this process's cgroup " + d + " is not there", "");
        }
        if (!writable.test(d) || !writable.test(d.resolve("cgroup.procs"))) {
            return none("this process's cgroup " + d + " is not delegated to this user (not writable)", FIX);
        }
        if (!Files.exists(d.resolve("cgroup.kill"))) {
            return none("the kernel has no cgroup.kill (Linux 5.14 or later)", "");
        }
        return new RunCgroup(dir, "each run in a cgroup of its own under " + d, "");
    }

    private static RunCgroup none(String reason, String fix) {
        return new RunCgroup(Optional.empty(), reason, fix);
    }

    /**
     * Where cgroup {@code path} is: the first cgroup2 mount whose root is {@code path} or above it.
     * A mountinfo line is {@code ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE
     * SUPER}; ROOT and MOUNTPOINT escape spaces and the like as octal ({@code \040}).
     */
    static Optional<Path> directory(Path root, String mountinfo, String path) {
        for (String line : mountinfo.split("\n")) {
            int dash = line.indexOf(" - ");
            if (dash < 0 || !line.substring(dash + 3).startsWith("cgroup2 ")) {
                continue;
            }
            String[] f = line.substring(0, dash).split(" ");
            if (f.length < 5) {
                continue;
            }
            String mountRoot = unescape(f[3]);
            String mountPoint = unescape(f[4]);
            String rest;
            if (mountRoot.equals("/")) {
                rest = path;
            } else if (path.equals(mountRoot) || path.startsWith(mountRoot + "/")) {
                rest = path.substring(mountRoot.length());
            } else {
                continue;
            }
            Path base = root.resolve(mountPoint.substring(1));
            Path dir = rest.isEmpty() || rest.equals("/") ? base : base.resolve(rest.substring(1));
            if (!dir.normalize().startsWith(base)) {
                continue;   // a ".." in a path: not ours to follow
            }
            return Optional.of(dir.normalize());
        }
        return Optional.empty();
    }

    private static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 4 <= s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static String read(Path p) {
        try (InputStream in = Files.newInputStream(p)) {
            return new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8);
        } catch (IOException | SecurityException e) {
            return null;
        }
    }
}

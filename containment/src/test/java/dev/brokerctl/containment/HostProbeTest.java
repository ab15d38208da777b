package dev.brokerctl.containment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.containment.Finding.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HostProbe against fake {@code /proc} and {@code /sys} trees and a fake bwrap. */
class HostProbeTest {

    static final long SELF = 4242;

    @TempDir
    Path root;
    @TempDir
    Path userHome;

    final Map<String, String> env = new HashMap<>();
    final Map<String, Path> tools = new HashMap<>();
    final List<List<String>> ran = new ArrayList<>();
    HostProbe.Exec.Result bwrapResult = new HostProbe.Exec.Result(0, "", false);
    int uid;

    @BeforeEach
    void setUp() throws IOException {
        uid = (Integer) Files.getAttribute(root, "unix:uid");
        tools.put("bwrap", Path.of("/usr/bin/bwrap"));
        env.put("PATH", "/usr/bin:/bin");
        env.put("PWD", "/work");
        env.put("OLDPWD", "/");
    }

    HostProbe probe() {
        return new HostProbe(root, env, userHome, uid, SELF, t -> Optional.ofNullable(tools.get(t)), (argv, timeout) -> {
            ran.add(argv);
            assertEquals(HostProbe.BWRAP_TIMEOUT, timeout);
            return bwrapResult;
        });
    }

    void file(String rel, String content) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
    }

    static Finding find(List<Finding> all, String id) {
        return all.stream().filter(f -> f.id().equals(id)).findFirst()
                .orElseThrow(() -> new AssertionError("no finding " + id + " in " + all));
    }

    Finding host(String id) {
        return find(probe().host(), id);
    }

    static void assertFinding(Status status, String text, String fix, Finding f) {
        assertEquals(status, f.status(), f.toString());
        assertEquals(text, f.text());
        assertEquals(fix, f.fix());
    }

    // ---------------------------------------------------------------- bwrap and contained runs

    @Test
    void bwrapWorks_runsCanBeContained() {
        HostProbe p = probe();
        RunContainment c = p.runContainment();
        assertTrue(c.contained());
        assertEquals(List.of("/usr/bin/bwrap", "--ro-bind", "/", "/", "--unshare-pid", "--as-pid-1", "--die-with-parent",
                "--dev", "/dev", "--", "/bin/true"), ran.get(0));
        List<Finding> all = p.host();
        assertEquals(1, ran.size(), "the trial runs once per probe");
        assertFinding(Status.OK, "bwrap found: /usr/bin/bwrap", "", find(all, "bwrap"));
        assertFinding(Status.OK, "/usr/bin/bwrap makes a PID namespace as this user", "", find(all, "bwrap-usable"));
        assertFinding(Status.OK, "runs can be contained: each approved command can get a PID namespace that dies"
                + " with it", "", find(all, "runs-contained"));
    }

    @Test
    void uncontainedRuns_sayWhetherTheCgroupFallbackHolds() throws IOException {
        tools.remove("bwrap");
        assertFinding(Status.FAIL, "no cgroup fallback either: cannot read /proc/self/cgroup and"
                + " /proc/self/mountinfo; runs get a process group only, and what leaves it (setsid) keeps"
                + " running with the values", "make runs contained (the runs-contained fix)", host("runs-cgroup"));

        file("proc/self/cgroup", "0::/user.slice/app.scope\n");
        file("proc/self/mountinfo", "40 35 0:34 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        file("sys/fs/cgroup/user.slice/app.scope/cgroup.procs", "");
        file("sys/fs/cgroup/user.slice/app.scope/cgroup.kill", "");
        Path scope = root.resolve("sys/fs/cgroup/user.slice/app.scope");
        Finding f = host("runs-cgroup");
        assertEquals(Status.WARN, f.status());
        assertTrue(f.text().startsWith("fallback: a daemon started from here puts each run in a cgroup of its own"
                + " under " + scope + " and kills it whole"), f.text());

        HostProbe p = probe();
        p.writable = path -> !path.equals(scope.resolve("cgroup.procs"));
        assertFinding(Status.FAIL, "no cgroup fallback either: this process's cgroup " + scope + " is not"
                + " delegated to this user (not writable); runs get a process group only, and what leaves it"
                + " (setsid) keeps running with the values", RunCgroup.FIX, find(p.host(), "runs-cgroup"));

        tools.put("bwrap", Path.of("/usr/bin/bwrap"));
        assertTrue(probe().host().stream().noneMatch(x -> x.id().equals("runs-cgroup")), "contained: no fallback to report");
    }

    @Test
    void noBwrap_runsNotContained_withTheInstallCommand() {
        tools.remove("bwrap");
        List<Finding> all = probe().host();
        assertFinding(Status.FAIL, "bwrap is not installed: no sandbox, runs not contained", Bwrap.INSTALL,
                find(all, "bwrap"));
        assertFinding(Status.FAIL, "runs not contained: bwrap is not installed", Bwrap.INSTALL, find(all, "runs-contained"));
        assertTrue(all.stream().noneMatch(f -> f.id().equals("bwrap-usable")));
        assertTrue(ran.isEmpty());
    }

    @Test
    void bwrapFails_itsStderrLineIsReported_withTheAppArmorFix() throws IOException {
        file("proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n");
        bwrapResult = new HostProbe.Exec.Result(1, "\nbwrap: setting up uid map: Permission denied\n", false);
        RunContainment c = probe().runContainment();
        assertFalse(c.contained());
        String why = "/usr/bin/bwrap cannot make a PID namespace (exit 1: bwrap: setting up uid map: Permission denied)";
        assertEquals(why, c.reason());
        assertFinding(Status.FAIL, why, HostProbe.APPARMOR_FIX, host("bwrap-usable"));
        assertFinding(Status.FAIL, "runs not contained: " + why, HostProbe.APPARMOR_FIX, host("runs-contained"));
        assertTrue(HostProbe.APPARMOR_FIX.contains("AppArmor profile")
                && HostProbe.APPARMOR_FIX.contains("sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"));
    }

    @Test
    void bwrapFails_withUsernsCloneOff_theFixIsTheSysctl() throws IOException {
        file("proc/sys/kernel/unprivileged_userns_clone", "0\n");
        bwrapResult = new HostProbe.Exec.Result(1, "bwrap: No permissions to creating new namespace\n", false);
        assertEquals("sudo sysctl -w kernel.unprivileged_userns_clone=1", probe().runContainment().fix());
    }

    @Test
    void bwrapHangs_notContained() {
        bwrapResult = new HostProbe.Exec.Result(-1, "", true);
        assertFinding(Status.FAIL, "/usr/bin/bwrap did not finish within 5s", "", host("bwrap-usable"));
    }

    @Test
    void realProcess_trueIsUsableAndFalseIsNot() throws IOException {
        assertEquals(0, HostProbe.runProcess(List.of("/bin/true"), Duration.ofSeconds(5)).exit());
        HostProbe.Exec.Result r = HostProbe.runProcess(List.of("/bin/sh", "-c", "echo oops >&2; exit 3"),
                Duration.ofSeconds(5));
        assertEquals(3, r.exit());
        assertEquals("oops\n", r.stderr());
        assertTrue(HostProbe.runProcess(List.of("/bin/sleep", "30"), Duration.ofMillis(200)).timedOut());
    }

    // ---------------------------------------------------------------- user namespaces

    @Test
    void usernsSwitchesOn_ok() throws IOException {
        file("proc/sys/kernel/unprivileged_userns_clone", "1\n");
        file("proc/sys/user/max_user_namespaces", "96365\n");
        file("proc/sys/kernel/apparmor_restrict_unprivileged_userns", "0\n");
        assertFinding(Status.OK, "kernel.unprivileged_userns_clone = 1", "", host("userns-clone"));
        assertFinding(Status.OK, "user.max_user_namespaces = 96365", "", host("userns-max"));
        assertFinding(Status.OK, "kernel.apparmor_restrict_unprivileged_userns = 0", "", host("userns-apparmor"));
    }

    @Test
    void realProcSys_isReadWhole() throws Exception {
        // procfs sysctls read short through Files.readAllBytes ("96365" came back as "9")
        Process cat = new ProcessBuilder("cat", "/proc/sys/user/max_user_namespaces").start();
        String expected = new String(cat.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, cat.waitFor());
        HostProbe real = new HostProbe(Path.of("/"), env, userHome, uid, SELF, t -> Optional.empty(), (a, t) -> bwrapResult);
        assertEquals("user.max_user_namespaces = " + expected, find(real.userNamespaces(true), "userns-max").text());
    }

    @Test
    void usernsSwitchesAbsent_ok() {
        assertFinding(Status.OK, "kernel.unprivileged_userns_clone: not present (no such switch in this kernel)", "",
                host("userns-clone"));
        assertFinding(Status.OK, "user.max_user_namespaces: not present", "", host("userns-max"));
        assertFinding(Status.OK, "kernel.apparmor_restrict_unprivileged_userns: not present (no AppArmor"
                + " user-namespace restriction)", "", host("userns-apparmor"));
    }

    @Test
    void usernsOff_andBwrapFails_fail() throws IOException {
        file("proc/sys/kernel/unprivileged_userns_clone", "0\n");
        file("proc/sys/user/max_user_namespaces", "0\n");
        file("proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n");
        bwrapResult = new HostProbe.Exec.Result(1, "bwrap: Creating new namespace failed\n", false);
        List<Finding> all = probe().host();
        assertFinding(Status.FAIL, "kernel.unprivileged_userns_clone = 0: unprivileged user namespaces are off",
                "sudo sysctl -w kernel.unprivileged_userns_clone=1 && echo kernel.unprivileged_userns_clone=1"
                        + " | sudo tee /etc/sysctl.d/60-brokerctl-userns.conf", find(all, "userns-clone"));
        assertFinding(Status.FAIL, "user.max_user_namespaces = 0: no user namespaces can be made",
                "sudo sysctl -w user.max_user_namespaces=15000 && echo user.max_user_namespaces=15000"
                        + " | sudo tee /etc/sysctl.d/60-brokerctl-userns.conf", find(all, "userns-max"));
        assertFinding(Status.FAIL, "kernel.apparmor_restrict_unprivileged_userns = 1: AppArmor denies user"
                + " namespaces to programs without a profile, bwrap included", HostProbe.APPARMOR_FIX,
                find(all, "userns-apparmor"));
    }

    @Test
    void appArmorRestriction_butBwrapWorks_info() throws IOException {
        file("proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n");
        assertFinding(Status.INFO, "kernel.apparmor_restrict_unprivileged_userns = 1: AppArmor denies user"
                + " namespaces to programs without a profile (bwrap has one: it works)", "", host("userns-apparmor"));
    }

    // ---------------------------------------------------------------- TIOCSTI, ptrace

    @Test
    void tiocsti() throws IOException {
        file("proc/sys/dev/tty/legacy_tiocsti", "1\n");
        assertFinding(Status.WARN, "dev.tty.legacy_tiocsti = 1: any process on a terminal can inject keystrokes"
                + " into it (TIOCSTI)", "sudo sysctl -w dev.tty.legacy_tiocsti=0 && echo dev.tty.legacy_tiocsti=0"
                + " | sudo tee /etc/sysctl.d/60-brokerctl-tiocsti.conf", host("tiocsti"));
        file("proc/sys/dev/tty/legacy_tiocsti", "0\n");
        assertFinding(Status.OK, "dev.tty.legacy_tiocsti = 0: TIOCSTI keystroke injection needs CAP_SYS_ADMIN", "",
                host("tiocsti"));
        Files.delete(root.resolve("proc/sys/dev/tty/legacy_tiocsti"));
        Finding absent = host("tiocsti");
        assertEquals(Status.WARN, absent.status());
        assertTrue(absent.text().startsWith("dev.tty.legacy_tiocsti: not present (kernel before 6.2)"), absent.text());
    }

    @Test
    void ptraceScope() throws IOException {
        file("proc/sys/kernel/yama/ptrace_scope", "0\n");
        assertFinding(Status.WARN, "kernel.yama.ptrace_scope = 0: same-user processes can ptrace each other (read"
                + " memory, inject code)", "sudo sysctl -w kernel.yama.ptrace_scope=1 && echo"
                + " kernel.yama.ptrace_scope=1 | sudo tee /etc/sysctl.d/60-brokerctl-ptrace.conf   (2: only root may"
                + " attach)", host("ptrace-scope"));
        file("proc/sys/kernel/yama/ptrace_scope", "1\n");
        assertFinding(Status.OK, "kernel.yama.ptrace_scope = 1: only a parent (or a declared tracer) or root may"
                + " ptrace", "", host("ptrace-scope"));
        file("proc/sys/kernel/yama/ptrace_scope", "2\n");
        assertFinding(Status.OK, "kernel.yama.ptrace_scope = 2: only root may ptrace", "", host("ptrace-scope"));
        Files.delete(root.resolve("proc/sys/kernel/yama/ptrace_scope"));
        Finding absent = host("ptrace-scope");
        assertEquals(Status.WARN, absent.status());
        assertTrue(absent.text().startsWith("Yama is not enabled"), absent.text());
    }

    // ---------------------------------------------------------------- networking, Landlock, abstract sockets

    @Test
    void userModeNetworking_pastaFirst_thenSlirp_elseWarn() {
        tools.put("pasta", Path.of("/usr/bin/pasta"));
        tools.put("slirp4netns", Path.of("/usr/bin/slirp4netns"));
        assertFinding(Status.OK, "user-mode networking for the sandbox: /usr/bin/pasta", "", host("user-net"));
        tools.remove("pasta");
        assertFinding(Status.OK, "user-mode networking for the sandbox: /usr/bin/slirp4netns", "", host("user-net"));
        tools.remove("slirp4netns");
        assertFinding(Status.WARN, "neither pasta nor slirp4netns is installed: a sandbox cannot have its own network"
                + " namespace and keep internet access", "sudo apt-get install passt   (or: sudo apt-get install"
                + " slirp4netns)", host("user-net"));
    }

    @Test
    void landlock() throws IOException {
        assertFinding(Status.INFO, "cannot tell whether Landlock is enabled (" + root.resolve("sys/kernel/security/lsm")
                + " is not readable)", "", host("landlock"));
        file("sys/kernel/security/lsm", "lockdown,capability,yama,apparmor");
        assertFinding(Status.INFO, "Landlock is not enabled (not in " + root.resolve("sys/kernel/security/lsm") + ")", "",
                host("landlock"));
        file("sys/kernel/security/lsm", "lockdown,capability,landlock,yama,apparmor");
        assertFinding(Status.OK, "Landlock is enabled", "", host("landlock"));
    }

    @Test
    void abstractSockets_networkNamespace_orLandlockScoping_elseWarn() throws IOException {
        tools.put("pasta", Path.of("/usr/bin/pasta"));
        assertFinding(Status.OK, "abstract Unix sockets (X11, D-Bus) are out of a sandbox's reach: its own network"
                + " namespace, with pasta for internet access", "", host("abstract-sockets"));
        tools.remove("pasta");
        file("sys/kernel/security/lsm", "landlock");
        file("proc/sys/kernel/osrelease", "6.12.1-arch1\n");
        assertFinding(Status.OK, "abstract Unix sockets (X11, D-Bus) are out of a sandbox's reach: Landlock scoping"
                + " (LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET)", "", host("abstract-sockets"));
        file("proc/sys/kernel/osrelease", "6.8.0-45-generic\n");
        assertFinding(Status.WARN, "nothing keeps a sandboxed agent from abstract Unix sockets (X11's"
                + " @/tmp/.X11-unix/X0, D-Bus): no network namespace with user-mode networking, and this kernel's"
                + " Landlock has no abstract-socket scoping (Linux 6.12+)", "sudo apt-get install passt",
                host("abstract-sockets"));
    }

    // ---------------------------------------------------------------- terminal, credentials, variables

    @Test
    void multiplexer_fromTheEnvironment() {
        env.put("TMUX", "/tmp/tmux-0/default,1,0");
        assertFinding(Status.WARN, "this terminal runs inside tmux or screen (TMUX is set): any process of your user"
                + " can read its screen and type into it", "run brokerctl approve in a terminal outside tmux/screen,"
                + " and run agents with: brokerctl sandbox -- AGENT (tmux and screen sockets are hidden there)",
                host("multiplexer"));
        env.remove("TMUX");
        env.put("STY", "1234.pts-0.host");
        assertTrue(host("multiplexer").text().contains("(STY is set)"));
    }

    @Test
    void multiplexer_fromTheParentChain() throws IOException {
        file("proc/" + SELF + "/stat", SELF + " (java) S 300 1 1 0");
        file("proc/300/stat", "300 (sh) S 200 1 1 0");
        assertFinding(Status.OK, "this terminal is not inside tmux or screen", "", host("multiplexer"));
        file("proc/200/stat", "200 (tmux: server) S 1 1 1 0");
        assertTrue(host("multiplexer").text().contains("(process 200 (tmux: server) is an ancestor)"));
        file("proc/200/stat", "200 (SCREEN) S 1 1 1 0");
        assertEquals(Status.WARN, host("multiplexer").status());
    }

    @Test
    void credentialFiles() throws IOException {
        assertFinding(Status.OK, "no credential files a sandbox would hide in " + userHome, "", host("credentials"));
        Files.createDirectories(userHome.resolve(".aws"));
        Files.writeString(userHome.resolve(".aws/credentials"), "[default]\n");
        Files.createDirectories(userHome.resolve(".ssh"));
        Files.writeString(userHome.resolve(".netrc"), "machine x\n");
        assertFinding(Status.INFO, "credential files any process of your user can read: ~/.ssh ~/.aws/credentials"
                + " ~/.netrc", "run agents with: brokerctl sandbox -- AGENT (they are hidden there)", host("credentials"));
    }

    @Test
    void secretLookingVariables_byNameOnly() {
        assertFinding(Status.OK, "no secret-looking variables in this environment", "", host("secret-env"));
        env.put("GITHUB_TOKEN", "canary-value-5d1e");
        env.put("BROKERCTL_PASSPHRASE_FILE", "/tmp/pass");
        env.put("MY_API_KEY", "canary-value-5d1e");
        Finding f = host("secret-env");
        assertFinding(Status.WARN, "secret-looking variables in this environment (names only): BROKERCTL_PASSPHRASE_FILE"
                + " GITHUB_TOKEN MY_API_KEY", "unset BROKERCTL_PASSPHRASE_FILE GITHUB_TOKEN MY_API_KEY before starting an"
                + " agent, keep them in the vault (brokerctl set ENV NAME), or run agents with: brokerctl sandbox --"
                + " AGENT (it removes them)", f);
        assertFalse(f.toString().contains("canary") || f.toString().contains("/tmp/pass"));
    }

    @Test
    void secretNames() {
        for (String yes : List.of("GITHUB_TOKEN", "NPM_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "CLIENT_SECRET", "MY_SECRET_THING", "DB_PASSWORD", "OPENAI_API_KEY", "BROKERCTL_PASSPHRASE_FILE",
                "TOKEN", "aws_access_key_id")) {
            assertTrue(SecretNames.looksSecret(yes), yes);
        }
        for (String no : List.of("PATH", "PWD", "OLDPWD", "HOME", "TOKENIZER_MODE", "SSH_AUTH_SOCK", "KEYBOARD",
                "TMUX", "PASSAGE")) {
            assertFalse(SecretNames.looksSecret(no), no);
        }
    }

    // ---------------------------------------------------------------- files

    Path dir(Path p, String mode) throws IOException {
        Files.createDirectories(p);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
        return p;
    }

    @Test
    void privateHomeAndSocketDir_ok() throws IOException {
        Path home = dir(userHome.resolve("bh"), "rwx------");
        Files.writeString(home.resolve("vault.db"), "x");
        Files.setPosixFilePermissions(home.resolve("vault.db"), PosixFilePermissions.fromString("rw-------"));
        Path run = dir(home.resolve("run"), "rwx------");
        List<Finding> all = probe().files(home, run.resolve("brokerd.sock"));
        assertFinding(Status.OK, "broker home " + home + " is 0700 and yours", "", find(all, "home"));
        assertFinding(Status.OK, "vault files are 0600 and yours", "", find(all, "vault-files"));
        assertFinding(Status.OK, "socket directory " + run + " is 0700 and yours", "", find(all, "socket-dir"));
    }

    @Test
    void looseModes_fail_withChmod() throws IOException {
        Path home = dir(userHome.resolve("bh"), "rwxr-xr-x");
        Files.writeString(home.resolve("vault.db"), "x");
        Files.setPosixFilePermissions(home.resolve("vault.db"), PosixFilePermissions.fromString("rw-r--r--"));
        Path run = dir(home.resolve("run"), "rwxrwxr-x");
        List<Finding> all = probe().files(home, run.resolve("brokerd.sock"));
        assertFinding(Status.FAIL, "broker home " + home + " is rwxr-xr-x, not rwx------ (0700)", "chmod 700 " + home,
                find(all, "home"));
        assertFinding(Status.FAIL, "vault files that are not plain 0600 files: " + home.resolve("vault.db"),
                "chmod 600 " + home.resolve("vault.db"), find(all, "vault-files"));
        assertFinding(Status.FAIL, "socket directory " + run + " is rwxrwxr-x, not rwx------ (0700)", "chmod 700 " + run,
                find(all, "socket-dir"));
    }

    @Test
    void symlinkedSocketDir_andForeignOwner_fail() throws IOException {
        Path real = dir(userHome.resolve("elsewhere"), "rwx------");
        Path link = Files.createSymbolicLink(userHome.resolve("run"), real);
        Finding f = find(probe().files(userHome.resolve("none"), link.resolve("brokerd.sock")), "socket-dir");
        assertFinding(Status.FAIL, "socket directory " + link + " is a symlink: whoever can change it chooses where"
                + " brokerctl's files go", "rm " + link + " && mkdir -m 700 " + link, f);
        uid = uid + 1;   // the probe now runs as someone else than the owner of these files
        Finding foreign = find(probe().files(real, link.resolve("brokerd.sock")), "home");
        assertFinding(Status.FAIL, "broker home " + real + " belongs to uid " + (uid - 1) + ", not to you (uid " + uid
                + ")", "sudo chown " + uid + " " + real, foreign);
    }

    @Test
    void notCreatedYet_ok() {
        Path home = userHome.resolve("none");
        List<Finding> all = probe().files(home, home.resolve("run/brokerd.sock"));
        assertFinding(Status.OK, "broker home " + home + " does not exist yet (brokerctl init makes it 0700)", "",
                find(all, "home"));
        assertFinding(Status.OK, "no vault yet in " + home, "", find(all, "vault-files"));
    }

    // ---------------------------------------------------------------- install

    Path buildTree() throws IOException {
        Path top = userHome.resolve("src");
        Files.createDirectories(top.resolve("cli/target"));
        Files.createDirectories(top.resolve("bin"));
        Files.writeString(top.resolve("cli/target/brokerctl.jar"), "jar");
        Files.writeString(top.resolve("cli/target/brokerctl-run.jar"), "jar");
        Files.writeString(top.resolve("cli/target/other.jar"), "jar");
        Files.writeString(top.resolve("bin/brokerctl"), "#!/bin/sh\n");
        return top;
    }

    @Test
    void writableInstall_warns() throws IOException {
        Path top = buildTree();
        HostProbe p = probe();
        p.writable = f -> f.equals(top.resolve("cli/target/brokerctl.jar")) || f.equals(top.resolve("bin"));
        List<Finding> all = p.install(top.resolve("cli/target/brokerctl.jar"));
        String fix = "install into a root-owned prefix: sudo " + top.resolve("bin/install.sh") + " --prefix /usr/local"
                + "   (bin/install.sh does not exist yet: a separate piece of work; until then copy bin/brokerctl and"
                + " the jars into a root-owned bin/ and lib/)";
        assertFinding(Status.WARN, "your user can replace the brokerctl jars, and so can an agent outside a sandbox:"
                + " brokerctl.jar (writable)", fix, find(all, "install"));
        assertFinding(Status.WARN, "your user can replace the launcher " + top.resolve("bin/brokerctl") + " ("
                + top.resolve("bin") + " is writable), and so can an agent outside a sandbox", fix, find(all, "launcher"));
    }

    @Test
    void rootOwnedInstall_ok() throws IOException {
        Path top = userHome.resolve("prefix");
        Files.createDirectories(top.resolve("lib"));
        Files.createDirectories(top.resolve("bin"));
        Files.writeString(top.resolve("lib/brokerctl.jar"), "jar");
        Files.writeString(top.resolve("bin/brokerctl"), "#!/bin/sh\n");
        Files.writeString(top.resolve("bin/install.sh"), "#!/bin/sh\n");
        HostProbe p = probe();
        p.writable = f -> false;
        List<Finding> all = p.install(top.resolve("lib/brokerctl.jar"));
        assertFinding(Status.OK, "the brokerctl jars in " + top.resolve("lib") + " cannot be replaced by your user", "",
                find(all, "install"));
        assertFinding(Status.OK, "the launcher " + top.resolve("bin/brokerctl") + " cannot be replaced by your user", "",
                find(all, "launcher"));
        p.writable = f -> f.equals(top.resolve("lib"));
        assertEquals("install into a root-owned prefix: sudo " + top.resolve("bin/install.sh") + " --prefix /usr/local",
                find(p.install(top.resolve("lib/brokerctl.jar")), "install").fix());
    }

    // ---------------------------------------------------------------- daemon

    void daemonProc(long pid, int statusUid, String... cmdline) throws IOException {
        file("proc/" + pid + "/status", "Name:\tjava\nUid:\t" + statusUid + "\t" + statusUid + "\t" + statusUid + "\t"
                + statusUid + "\n");
        Files.write(root.resolve("proc/" + pid + "/cmdline"), (String.join("\0", cmdline) + "\0")
                .getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void daemonNonDumpable_attachOff_ok() throws IOException {
        // The fake /proc entries belong to this test's uid: "root-owned" when the test runs as root (CI).
        assertEquals(0, uid, "this branch needs the fake /proc/PID/status to be root-owned: run as root, as CI does");
        daemonProc(77, 1000, "java", "-XX:+DisableAttachMechanism", "-jar", "brokerctl.jar", "daemon");
        List<Finding> all = probe().daemon(77);
        assertFinding(Status.OK, "the daemon is non-dumpable (its /proc/77 entries belong to root): same-user processes"
                + " cannot read its memory or environment", "", find(all, "daemon-dumpable"));
        assertFinding(Status.OK, "the daemon's attach mechanism is off (-XX:+DisableAttachMechanism)", "",
                find(all, "daemon-attach"));
    }

    @Test
    void daemonDumpable_attachOn_fail() throws IOException {
        daemonProc(78, uid == 0 ? 1000 : uid, "java", "-XX:+DisableAttachMechanism", "-XX:-DisableAttachMechanism",
                "-jar", "brokerctl.jar");
        if (uid == 0) {
            Files.setAttribute(root.resolve("proc/78/status"), "unix:uid", 1000);
        }
        List<Finding> all = probe().daemon(78);
        String restart = "restart it through bin/brokerctl: brokerctl stop && brokerctl daemon --detach";
        assertFinding(Status.FAIL, "the daemon (pid 78) is dumpable: same-user processes can read its memory"
                + " (/proc/78/mem) and environment", restart, find(all, "daemon-dumpable"));
        assertFinding(Status.FAIL, "the daemon's attach mechanism is on: jcmd or jmap of your user can dump its heap",
                restart, find(all, "daemon-attach"));
    }

    @Test
    void daemonProcUnreadable_orRoot_info() throws IOException {
        List<Finding> none = probe().daemon(79);
        assertFinding(Status.INFO, "cannot read " + root.resolve("proc/79/status") + ": cannot tell whether the daemon"
                + " is non-dumpable", "", find(none, "daemon-dumpable"));
        assertFinding(Status.INFO, "cannot read /proc/79/cmdline: cannot tell whether the daemon's attach mechanism is"
                + " off", "", find(none, "daemon-attach"));
        daemonProc(80, 0, "java");
        assertFinding(Status.INFO, "the daemon runs as root: whether it is dumpable does not show in /proc (its entries"
                + " belong to root either way)", "", find(probe().daemon(80), "daemon-dumpable"));
    }
}

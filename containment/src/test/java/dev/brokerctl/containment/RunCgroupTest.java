package dev.brokerctl.containment;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCgroupTest {

    static final String HYBRID = """
            25 30 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw
            36 35 0:30 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory
            40 35 0:34 / /sys/fs/cgroup/unified rw,relatime shared:19 - cgroup2 cgroup2 rw
            """;

    @TempDir
    Path root;

    final Set<Path> readOnly = new HashSet<>();
    Path scope;

    @BeforeEach
    void setUp() throws IOException {
        scope = root.resolve("sys/fs/cgroup/unified/user.slice/app.scope");
        Files.createDirectories(scope);
        Files.writeString(scope.resolve("cgroup.procs"), "");
        Files.writeString(scope.resolve("cgroup.kill"), "");
        proc("proc/self/cgroup", "4:memory:/user.slice\n0::/user.slice/app.scope\n");
        proc("proc/self/mountinfo", HYBRID);
    }

    void proc(String rel, String content) throws IOException {
        Files.createDirectories(root.resolve(rel).getParent());
        Files.writeString(root.resolve(rel), content);
    }

    RunCgroup find() {
        return RunCgroup.find(root, p -> !readOnly.contains(p));
    }

    @Test
    void theV2LineAndTheCgroup2Mount_giveTheDelegatedDirectory() {
        RunCgroup g = find();
        assertEquals(Optional.of(scope), g.dir(), g.reason());
        assertEquals("each run in a cgroup of its own under " + scope, g.reason());
    }

    @Test
    void aMountWhoseRootIsTheCgroupItself_isFollowedFromThatRoot() throws IOException {
        // inside a cgroup namespace or a container: the hierarchy is mounted from the process's own cgroup
        Path inside = root.resolve("sys/fs/cgroup/unified/app.scope");
        Files.createDirectories(inside);
        Files.writeString(inside.resolve("cgroup.procs"), "");
        Files.writeString(inside.resolve("cgroup.kill"), "");
        proc("proc/self/mountinfo", "40 35 0:34 /user.slice /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
        assertEquals(Optional.of(inside), find().dir());
        proc("proc/self/mountinfo", "40 35 0:34 /other.slice /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
        assertEquals("no cgroup v2 hierarchy is mounted where this process's cgroup /user.slice/app.scope is",
                find().reason());
    }

    @Test
    void anEscapedMountPoint_isUnescaped() throws IOException {
        Path odd = root.resolve("cg roups/user.slice/app.scope");
        Files.createDirectories(odd);
        Files.writeString(odd.resolve("cgroup.procs"), "");
        Files.writeString(odd.resolve("cgroup.kill"), "");
        proc("proc/self/mountinfo", "40 35 0:34 / /cg\\040roups rw - cgroup2 cgroup2 rw\n");
        assertEquals(Optional.of(odd), find().dir());
    }

    @Test
    void aCgroupThisUserMayNotWrite_isNotDelegated_andSaysHowToGetOne() {
        readOnly.add(scope.resolve("cgroup.procs"));
        RunCgroup g = find();
        assertEquals(Optional.empty(), g.dir());
        assertEquals("this process's cgroup " + scope + " is not delegated to this user (not writable)", g.reason());
        assertEquals(RunCgroup.FIX, g.fix());
        readOnly.clear();
        readOnly.add(scope);
        assertEquals(Optional.empty(), find().dir());
    }

    @Test
    void noV2Line_noCgroup2Mount_noCgroupKill_eachSaySo() throws IOException {
        proc("proc/self/cgroup", "4:memory:/user.slice\n");
        assertEquals("this process is in no cgroup v2 (no 0:: line in /proc/self/cgroup)", find().reason());
        proc("proc/self/cgroup", "0::/user.slice/app.scope\n");
        proc("proc/self/mountinfo", "36 35 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
        assertEquals(Optional.empty(), find().dir());
        proc("proc/self/mountinfo", HYBRID);
        Files.delete(scope.resolve("cgroup.kill"));
        assertEquals("the kernel has no cgroup.kill (Linux 5.14 or later)", find().reason());
        Files.delete(root.resolve("proc/self/cgroup"));
        assertEquals("cannot read /proc/self/cgroup and /proc/self/mountinfo", find().reason());
    }

    @Test
    void aDotDotInTheCgroupPath_isNotFollowedOutOfTheHierarchy() throws IOException {
        proc("proc/self/cgroup", "0::/../../../tmp\n");
        assertEquals(Optional.empty(), find().dir());
    }
}

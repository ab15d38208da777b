package dev.brokerctl.daemon;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/**
 * Where the daemon listens and keeps its vault, its timers, and the environment approved commands
 * start from ({@link ChildEnvironment}): by default the daemon's own, as the human started it.
 */
public record DaemonConfig(Path socket, Path vaultFile, Duration idleLock, Duration approvalTimeout,
        Clock clock, Map<String, String> environment, boolean containRuns) {

    public static final Duration DEFAULT_IDLE_LOCK = Duration.ofMinutes(30);
    public static final Duration DEFAULT_APPROVAL_TIMEOUT = Duration.ofSeconds(120);

    public static DaemonConfig of(Path socket, Path vaultFile) {
        return new DaemonConfig(socket, vaultFile, DEFAULT_IDLE_LOCK, DEFAULT_APPROVAL_TIMEOUT,
                Clock.systemUTC(), Map.copyOf(System.getenv()), true);
    }

    public DaemonConfig withIdleLock(Duration d) {
        return new DaemonConfig(socket, vaultFile, d, approvalTimeout, clock, environment, containRuns);
    }

    public DaemonConfig withApprovalTimeout(Duration d) {
        return new DaemonConfig(socket, vaultFile, idleLock, d, clock, environment, containRuns);
    }

    public DaemonConfig withClock(Clock c) {
        return new DaemonConfig(socket, vaultFile, idleLock, approvalTimeout, c, environment, containRuns);
    }

    /** false: runs get a process group only (for tests of that fallback, and hosts where bwrap misbehaves). */
    public DaemonConfig withContainedRuns(boolean contain) {
        return new DaemonConfig(socket, vaultFile, idleLock, approvalTimeout, clock, environment, contain);
    }

    public DaemonConfig withEnvironment(Map<String, String> env) {
        return new DaemonConfig(socket, vaultFile, idleLock, approvalTimeout, clock, Map.copyOf(env), containRuns);
    }
}

package dev.brokerctl.daemon;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/**
 * Where the daemon listens and keeps its vault, its timers, the environment approved commands
 * start from ({@link ChildEnvironment}): by default the daemon's own, as the human started it;
 * its connection {@link Limits}; whether it warms its run path up at start ({@link WarmUp}).
 */
public record DaemonConfig(Path socket, Path vaultFile, Duration idleLock, Duration approvalTimeout,
        Clock clock, Map<String, String> environment, boolean containRuns, Limits limits, boolean warmUp) {

    public static final Duration DEFAULT_IDLE_LOCK = Duration.ofMinutes(30);
    public static final Duration DEFAULT_APPROVAL_TIMEOUT = Duration.ofSeconds(120);

    /**
     * What one connection, one process and every connection together may hold
     * (docs/architecture.md, "Connection limits").
     *
     * @param maxPending connections that have not sent their hello and first request yet: no
     *     thread each; past it the oldest of the process holding the most is evicted, never the new one
     * @param helloTimeout from connect to a complete hello and first request
     * @param pendingBytes frame bytes all pending connections together may buffer
     * @param maxRequesters requester connections (each holds a thread)
     * @param maxPerPid requester connections of one process (SO_PEERCRED pid)
     * @param maxApprovers connections that began a handshake (approver consoles, unlock): reserved,
     *     apart from the requesters'
     * @param handshakeTimeout from admission to a finished handshake
     * @param frameTimeout from a frame's first byte to its last
     */
    public record Limits(int maxPending, Duration helloTimeout, int pendingBytes, int maxRequesters, int maxPerPid,
            int maxApprovers, Duration handshakeTimeout, Duration frameTimeout) {

        public static final Limits DEFAULT = new Limits(64, Duration.ofSeconds(5), 8 << 20, 256, 64, 16,
                Duration.ofSeconds(5), Duration.ofSeconds(10));

        public Limits {
            if (maxPending < 1 || maxRequesters < 1 || maxPerPid < 1 || maxApprovers < 1
                    || pendingBytes < dev.brokerctl.protocol.Frame.MAX_FRAME_BYTES) {
                throw new IllegalArgumentException("connection limits must be positive and pendingBytes at least"
                        + " one frame");
            }
        }
    }

    public static DaemonConfig of(Path socket, Path vaultFile) {
        return new DaemonConfig(socket, vaultFile, DEFAULT_IDLE_LOCK, DEFAULT_APPROVAL_TIMEOUT,
                Clock.systemUTC(), Map.copyOf(System.getenv()), true, Limits.DEFAULT, true);
    }

    public DaemonConfig withIdleLock(Duration d) {
        return new DaemonConfig(socket, vaultFile, d, approvalTimeout, clock, environment, containRuns, limits, warmUp);
    }

    public DaemonConfig withApprovalTimeout(Duration d) {
        return new DaemonConfig(socket, vaultFile, idleLock, d, clock, environment, containRuns, limits, warmUp);
    }

    public DaemonConfig withClock(Clock c) {
        return new DaemonConfig(socket, vaultFile, idleLock, approvalTimeout, c, environment, containRuns, limits, warmUp);
    }

    /** false: runs get a process group only (for tests of that fallback, and hosts where bwrap misbehaves). */
    public DaemonConfig withContainedRuns(boolean contain) {
        return new DaemonConfig(socket, vaultFile, idleLock, approvalTimeout, clock, environment, contain, limits, warmUp);
    }

    public DaemonConfig withEnvironment(Map<String, String> env) {
        return new DaemonConfig(socket, vaultFile, idleLock, approvalTimeout, clock, Map.copyOf(env), containRuns,
                limits, warmUp);
    }

    /**
     * false: no warm-up of the run path at start ({@link WarmUp}); for tests that count the
     * daemon's processes or threads.
     */
    public DaemonConfig withWarmUp(boolean warm) {
        return new DaemonConfig(socket, vaultFile, idleLock, approvalTimeout, clock, environment, containRuns, limits,
                warm);
    }

    public DaemonConfig withLimits(Limits l) {
        return new DaemonConfig(socket, vaultFile, idleLock, approvalTimeout, clock, environment, containRuns, l, warmUp);
    }
}

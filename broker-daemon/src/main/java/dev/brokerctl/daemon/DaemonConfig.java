package dev.brokerctl.daemon;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

/** Where the daemon listens and keeps its vault, and its timers. */
public record DaemonConfig(Path socket, Path vaultFile, Duration idleLock, Duration approvalTimeout,
        Clock clock) {

    public static final Duration DEFAULT_IDLE_LOCK = Duration.ofMinutes(30);
    public static final Duration DEFAULT_APPROVAL_TIMEOUT = Duration.ofSeconds(120);

    public static DaemonConfig of(Path socket, Path vaultFile) {
        return new DaemonConfig(socket, vaultFile, DEFAULT_IDLE_LOCK, DEFAULT_APPROVAL_TIMEOUT,
                Clock.systemUTC());
    }

    public DaemonConfig withIdleLock(Duration d) {
        return new DaemonConfig(socket, vaultFile, d, approvalTimeout, clock);
    }

    public DaemonConfig withApprovalTimeout(Duration d) {
        return new DaemonConfig(socket, vaultFile, idleLock, d, clock);
    }

    public DaemonConfig withClock(Clock c) {
        return new DaemonConfig(socket, vaultFile, idleLock, approvalTimeout, c);
    }
}

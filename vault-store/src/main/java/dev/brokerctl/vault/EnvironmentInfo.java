package dev.brokerctl.vault;

import java.time.Duration;

/**
 * Metadata of an environment; never a value. {@code maxGrant} is the longest grant a human may
 * give for it, or null for the broker's own limit. {@code hostRuns}: its approved commands see
 * the host's file system unrestricted (run profile {@code host}) instead of the default
 * {@code sandbox} profile.
 */
public record EnvironmentInfo(String name, Policy policy, int variableCount, Duration maxGrant, boolean hostRuns) {

    public EnvironmentInfo(String name, Policy policy, int variableCount) {
        this(name, policy, variableCount, null, false);
    }

    /** The run profile's name: {@code sandbox} or {@code host}. */
    public String runProfile() {
        return hostRuns ? "host" : "sandbox";
    }
}

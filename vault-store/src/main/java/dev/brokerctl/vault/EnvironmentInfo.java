package dev.brokerctl.vault;

import java.time.Duration;

/**
 * Metadata of an environment; never a value. {@code maxGrant} is the longest grant a human may
 * give for it, or null for the broker's own limit.
 */
public record EnvironmentInfo(String name, Policy policy, int variableCount, Duration maxGrant) {

    public EnvironmentInfo(String name, Policy policy, int variableCount) {
        this(name, policy, variableCount, null);
    }
}

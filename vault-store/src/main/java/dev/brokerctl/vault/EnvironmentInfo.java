package dev.brokerctl.vault;

/** Metadata of an environment; never a value. */
public record EnvironmentInfo(String name, Policy policy, int variableCount) {
}

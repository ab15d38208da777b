package dev.brokerctl.vault;

import java.time.Instant;

/** Metadata of a variable: name, description and when it was last set. Never the value. */
public record VariableInfo(String name, String description, Instant updatedAt) {
}

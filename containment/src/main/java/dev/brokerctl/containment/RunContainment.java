package dev.brokerctl.containment;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Whether approved runs can be contained on this host: bwrap is there and can make a PID namespace
 * as this user. {@code reason} says why not (and is a one-line description when they can);
 * {@code fix} is the command that would make it work ({@code ""} when contained).
 */
public record RunContainment(boolean contained, Optional<Path> bwrap, String reason, String fix) {
}

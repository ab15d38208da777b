package dev.brokerctl.cli;

/** A failure whose message is ready for the user; exit code 1 unless given. */
final class CliException extends Exception {

    private final int exitCode;

    CliException(String message) {
        this(message, ExitCodes.FAILURE);
    }

    CliException(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    int exitCode() {
        return exitCode;
    }
}

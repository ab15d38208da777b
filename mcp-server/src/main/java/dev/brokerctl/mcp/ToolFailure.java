package dev.brokerctl.mcp;

/**
 * A tool call that cannot do what was asked. The message goes to the agent as an
 * {@code isError} result: it says what is wrong and what to do next, and holds no stack trace.
 */
final class ToolFailure extends Exception {

    ToolFailure(String message) {
        super(message, null, false, false);
    }
}

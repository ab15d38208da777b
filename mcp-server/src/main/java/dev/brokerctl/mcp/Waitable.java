package dev.brokerctl.mcp;

/** Something a tool call waits on: a run, or a request for a variable. */
interface Waitable {

    boolean settled();

    /** Waits until settled or {@code millis} pass; returns whether it has settled. */
    boolean awaitSettled(long millis) throws InterruptedException;

    /** One line for a progress notification. */
    String progressMessage();
}

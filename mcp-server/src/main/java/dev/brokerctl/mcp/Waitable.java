package dev.brokerctl.mcp;

/** Something a tool call waits on: a run, or a request for a variable. */
interface Waitable {

    boolean settled();

    /** Waits until settled or {@code millis} pass; returns whether it has settled. */
    boolean awaitSettled(long millis) throws InterruptedException;

    /** One line for a progress notification. */
    String progressMessage();

    /**
     * The wait loop runs and variable requests share. The caller holds {@code w}'s monitor, which
     * every change of state notifies.
     */
    static boolean waitUntilSettled(Waitable w, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (!w.settled()) {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                return false;
            }
            w.wait(left);
        }
        return true;
    }
}

package dev.brokerctl.daemon;

import dev.brokerctl.approval.ConsoleText;
import org.slf4j.Logger;

/** Requester text in a log line: escaped as on the console, so nobody who tails the log gets a terminal escape. */
final class Log {

    private Log() {
    }

    static String safe(String s) {
        return ConsoleText.escape(s);
    }

    /**
     * What went wrong, for a log line: the exception's message (escaped), or its type when it has
     * none (an {@code IOException} from a closed socket often has none), never "null".
     */
    static String cause(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : safe(m);
    }

    /** Per-connection warnings logged in one window; past it they are counted, not written. */
    static final int PER_CONNECTION_LINES = 20;
    static final long WINDOW_NANOS = 10_000_000_000L;
    private static long windowStart = System.nanoTime() - WINDOW_NANOS;
    private static int inWindow;
    private static long suppressed;

    /** Ends the current window: the next warning starts a new one (tests). */
    static synchronized void newWindow() {
        windowStart = System.nanoTime() - WINDOW_NANOS;
    }

    /**
     * A warning about one connection (refused, too slow, failed its handshake): written while
     * fewer than {@link #PER_CONNECTION_LINES} were in the last 10 s, counted otherwise, so that a
     * flood of connections cannot rotate the log's history away; the count is written with the
     * first warning of the next window.
     */
    static void perConnection(Logger log, String format, Object... args) {
        long skipped = -1;
        synchronized (Log.class) {
            long now = System.nanoTime();
            if (now - windowStart >= WINDOW_NANOS) {
                windowStart = now;
                inWindow = 0;
                skipped = suppressed;
                suppressed = 0;
            }
            if (inWindow >= PER_CONNECTION_LINES) {
                suppressed++;
                return;
            }
            inWindow++;
        }
        if (skipped > 0) {
            log.warn("{} more warnings about single connections were not written (more than {} in 10 s:"
                    + " a flood of connections?)", skipped, PER_CONNECTION_LINES);
        }
        log.warn(format, args);
    }
}

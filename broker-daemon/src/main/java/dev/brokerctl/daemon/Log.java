package dev.brokerctl.daemon;

import dev.brokerctl.approval.ConsoleText;

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
}

package dev.brokerctl.daemon;

import dev.brokerctl.approval.ConsoleText;

/** Requester text in a log line: escaped as on the console, so nobody who tails the log gets a terminal escape. */
final class Log {

    private Log() {
    }

    static String safe(String s) {
        return ConsoleText.escape(s);
    }
}

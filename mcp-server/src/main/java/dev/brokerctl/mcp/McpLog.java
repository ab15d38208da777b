package dev.brokerctl.mcp;

import java.io.PrintStream;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;

/**
 * The server's own log lines, on the stream the caller gave (stderr: stdout is the protocol).
 * Lines name tools, run ids, environments and counts; never argv, an environment's contents or
 * output, which may hold what masking missed.
 */
final class McpLog {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    private final PrintStream out;
    private final boolean debug;

    McpLog(PrintStream out, boolean debug) {
        this.out = out;
        this.debug = debug;
    }

    void info(String message) {
        line("INFO", message);
    }

    void warn(String message) {
        line("WARN", message);
    }

    void debug(String message) {
        if (debug) {
            line("DEBUG", message);
        }
    }

    private void line(String level, String message) {
        String text = LocalTime.now().format(TIME) + " " + level + " brokerctl mcp: " + oneLine(message);
        synchronized (out) {
            out.println(text);
            out.flush();
        }
    }

    /**
     * The message with control characters and Unicode line breaks escaped (a backslash, u and
     * four hex digits): a message may quote what the client sent (a request id, a method), which
     * must not forge a line of its own or drive the terminal.
     */
    static String oneLine(String message) {
        StringBuilder b = null;
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
                if (b == null) {
                    b = new StringBuilder(message.length() + 16).append(message, 0, i);
                }
                b.append(String.format("\\u%04x", (int) c));
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? message : b.toString();
    }
}

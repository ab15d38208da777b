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
        String text = LocalTime.now().format(TIME) + " " + level + " brokerctl mcp: " + message;
        synchronized (out) {
            out.println(text);
            out.flush();
        }
    }
}

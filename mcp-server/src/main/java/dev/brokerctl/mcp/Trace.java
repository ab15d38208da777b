package dev.brokerctl.mcp;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Timestamps for profiling, off unless the JVM runs with {@code -Dbrokerctl.mcp.trace=FILE}
 * (e.g. through BROKERCTL_JAVA_OPTS): each {@link #mark} appends "microseconds thread event"
 * to FILE, on {@link System#nanoTime}'s clock (CLOCK_MONOTONIC on Linux, which Node's
 * {@code process.hrtime} reads too, so a client's stamps line up with these). Events name steps only (a line read, a request sent to the daemon),
 * never arguments or output.
 */
final class Trace {

    static final boolean ON;
    private static final OutputStream OUT;

    static {
        String file = System.getProperty("brokerctl.mcp.trace");
        OutputStream out = null;
        if (file != null && !file.isEmpty()) {
            try {
                out = new FileOutputStream(file, true);
            } catch (IOException e) {
                out = null;
            }
        }
        OUT = out;
        ON = out != null;
    }

    private Trace() {
    }

    static void mark(String event) {
        if (!ON) {
            return;
        }
        String line = System.nanoTime() / 1000 + " " + Thread.currentThread().getName() + " " + event + "\n";
        synchronized (OUT) {
            try {
                OUT.write(line.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                // profiling only
            }
        }
    }
}

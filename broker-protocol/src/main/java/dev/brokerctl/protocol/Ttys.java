package dev.brokerctl.protocol;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The controlling terminal of a process, from {@code /proc/PID/stat} (Linux). */
public final class Ttys {

    private Ttys() {
    }

    /**
     * The device number of the process's controlling terminal as text, or "" when it has none or
     * it cannot be read. Two processes on the same terminal get the same string.
     */
    public static String controlling(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // comm may contain spaces and parentheses: the fields start after the last ')'
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // state ppid pgrp session tty_nr ...
            String tty = f[4];
            return tty.equals("0") ? "" : tty;
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }
}

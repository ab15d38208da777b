package dev.brokerctl.cli;

import dev.brokerctl.daemon.Hardening;
import java.io.PrintWriter;

/**
 * Marks a command whose JVM will read the passphrase or a value. {@link Main} makes the process
 * non-dumpable before such a command runs, so no same-user process can read it through
 * {@code /proc/PID/mem}, {@code /proc/PID/environ} or ptrace. Commands that hold neither
 * ({@code run}, {@code mcp}, {@code status}, ...) do not carry it: they load no JNA.
 */
interface HoldsSecrets {

    /** Makes this process non-dumpable; one warning line on {@code err} where that cannot be done. */
    static void harden(PrintWriter err) {
        boolean done;
        try {
            done = Hardening.nonDumpable();
        } catch (LinkageError e) {
            done = false;   // JNA or its native part missing: warn, never fail
        }
        if (!done) {
            err.println("brokerctl: warning: cannot make this process non-dumpable (no libc prctl);"
                    + " other processes of your user may read its memory");
            err.flush();
        }
    }
}

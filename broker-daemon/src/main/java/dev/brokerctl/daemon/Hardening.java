package dev.brokerctl.daemon;

/**
 * Process hardening for every brokerctl JVM that will hold the passphrase or a value, not only the
 * daemon's: the CLI calls it before it reads either.
 */
public final class Hardening {

    private Hardening() {
    }

    /**
     * Makes this process non-dumpable ({@code prctl(PR_SET_DUMPABLE, 0)}): the kernel then refuses
     * same-uid, unprivileged processes {@code /proc/PID/mem}, {@code /proc/PID/environ} and ptrace,
     * and writes no core file. Lasts until the process execs. False when it could not be done
     * (no libc: not Linux); the caller says so and carries on.
     */
    public static boolean nonDumpable() {
        return Posix.setNonDumpable();
    }

    /**
     * Before any other use of JNA in this JVM: JNA loads only its verified native library from the
     * broker home (see JnaNative), never a temp copy of its own.
     */
    public static void verifiedJna() {
        JnaNative.prepare();
    }
}

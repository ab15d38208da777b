package dev.brokerctl.daemon;

import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * The few libc calls the JDK lacks: {@code prctl(PR_SET_DUMPABLE)} to keep same-user processes
 * from reading the daemon's memory, and {@code kill(-pgid)} to signal a run's whole process group.
 * When libc cannot be loaded (not Linux), the daemon still works without these protections, and
 * says so in its log.
 */
final class Posix {

    static final int SIGKILL = 9;
    static final int SIGTERM = 15;
    private static final int PR_SET_DUMPABLE = 4;
    private static final int PR_SET_CHILD_SUBREAPER = 36;
    private static final int P_PID = 1;
    private static final int P_PGID = 2;
    private static final int WEXITED = 4;
    private static final int WNOWAIT = 0x01000000;
    private static final int WNOHANG = 1;
    private static final int EINTR = 4;
    // Nothing here may touch Native before load(): its class initialiser loads JNA's library, from a
    // temp file of JNA's own when JnaNative.prepare() has not run yet (NativeLibraryIT).

    interface LibC extends Library {
        int prctl(int option, long arg2, long arg3, long arg4, long arg5);

        int kill(int pid, int sig);

        int getuid();

        int getsockopt(int fd, int level, int option, byte[] value, int[] length);

        int waitid(int idtype, int id, byte[] infop, int options);
    }

    private static final LibC LIBC = load();

    private Posix() {
    }

    private static LibC load() {
        JnaNative.prepare();
        try {
            return Native.load("c", LibC.class);
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return null;
        }
    }

    static boolean available() {
        return LIBC != null;
    }

    /** Makes this process non-dumpable: no core file, no ptrace or /proc/PID/mem by same-uid peers. */
    static boolean setNonDumpable() {
        return LIBC != null && LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
    }

    /**
     * {@code prctl(PR_SET_CHILD_SUBREAPER)}: orphans of this process's descendants are re-parented
     * to it (not to the host's init), so it can wait for them; false if that is not possible.
     */
    static boolean setChildSubreaper(boolean on) {
        return LIBC != null && LIBC.prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) == 0;
    }

    /**
     * Waits for one child of this process in process group {@code pgid} to exit, and reaps it; false
     * at once when there is none (or libc is missing). Meant for the init a setsid'd bwrap leaves in
     * its group: a child that leads the group ({@code pid == pgid}) is never reaped, as it can only
     * be a process the JDK started with that id reused, whose exit status is the JDK's to collect
     * (reaped here, the JDK would report it as 0).
     */
    static boolean reapOneOfGroup(long pgid) {
        if (LIBC == null || pgid <= 1) {
            return false;
        }
        byte[] siginfo = new byte[128];
        if (!waitid(P_PGID, pgid, siginfo, WEXITED | WNOWAIT)) {   // which one exited, still unreaped
            return false;
        }
        // si_pid comes after three ints, where the union starts pointer-aligned
        int siPid = Native.POINTER_SIZE == 8 ? 16 : 12;
        int pid = java.nio.ByteBuffer.wrap(siginfo).order(java.nio.ByteOrder.nativeOrder()).getInt(siPid);
        // WNOHANG: the one peeked at is a zombie now; if another wait took it first, this returns
        // at once rather than wait on an id that may be reused
        return pid != pgid && pid > 1 && waitid(P_PID, pid, siginfo, WEXITED | WNOHANG);
    }

    private static boolean waitid(int idtype, long id, byte[] siginfo, int options) {
        while (LIBC.waitid(idtype, (int) id, siginfo, options) != 0) {
            if (Native.getLastError() != EINTR) {
                return false;
            }
        }
        return true;
    }

    /** Signals one process; false if libc is missing or the process is gone. */
    static boolean kill(long pid, int signal) {
        return LIBC != null && pid > 1 && LIBC.kill((int) pid, signal) == 0;
    }

    /** Signals a process group; false if libc is missing or the group is gone. */
    static boolean killGroup(long pgid, int signal) {
        return LIBC != null && pgid > 1 && LIBC.kill((int) -pgid, signal) == 0;
    }

    private static final int SOL_SOCKET = 1;
    private static final int SO_PEERCRED = 17;

    /** {@code getsockopt(SO_PEERCRED)}: the peer's {pid, uid, gid} as the kernel saw it at connect, or null. */
    static long[] peerCredentials(int fd) {
        if (LIBC == null || fd < 0) {
            return null;
        }
        byte[] ucred = new byte[12];
        int[] length = {ucred.length};
        if (LIBC.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred, length) != 0 || length[0] != 12) {
            return null;
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(ucred).order(java.nio.ByteOrder.nativeOrder());
        return new long[] {Integer.toUnsignedLong(b.getInt()), Integer.toUnsignedLong(b.getInt()),
            Integer.toUnsignedLong(b.getInt())};
    }

    static long uid() {
        return LIBC == null ? -1 : LIBC.getuid();
    }
}

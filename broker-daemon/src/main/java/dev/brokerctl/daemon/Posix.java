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
    private static final int P_PGID = 2;
    private static final int WEXITED = 4;
    private static final int EINTR = 4;

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
     * Waits for one child of this process in process group {@code pgid} to exit, and reaps it
     * ({@code waitid(P_PGID, WEXITED)}); false at once when there is none (or libc is missing).
     */
    static boolean reapOneOfGroup(long pgid) {
        if (LIBC == null || pgid <= 1) {
            return false;
        }
        byte[] siginfo = new byte[128];
        while (true) {
            if (LIBC.waitid(P_PGID, (int) pgid, siginfo, WEXITED) == 0) {
                return true;
            }
            if (com.sun.jna.Native.getLastError() != EINTR) {
                return false;
            }
        }
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

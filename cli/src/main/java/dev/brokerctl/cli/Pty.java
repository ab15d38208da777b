package dev.brokerctl.cli;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A pseudo-terminal pair, through the libc calls the JDK lacks. The sandboxed agent gets the
 * slave as its controlling terminal; {@code brokerctl sandbox} keeps the master and relays bytes
 * and the window size between it and the human's terminal. ioctl numbers are Linux's generic ones
 * (x86-64, arm64).
 */
final class Pty implements AutoCloseable {

    static final int SIGINT = 2;
    static final int SIGHUP = 1;
    static final int SIGTERM = 15;

    private static final int O_RDWR = 2;
    private static final int O_NOCTTY = 0400;
    private static final long TIOCGWINSZ = 0x5413;
    private static final long TIOCSWINSZ = 0x5414;
    private static final long TIOCGPGRP = 0x540F;
    private static final long TIOCGSID = 0x5429;

    interface LibC extends Library {
        int posix_openpt(int flags);

        int grantpt(int fd);

        int unlockpt(int fd);

        int ptsname_r(int fd, byte[] buf, long size);

        int ioctl(int fd, long request, byte[] arg);

        int ioctl(int fd, long request, int[] arg);

        long read(int fd, byte[] buf, long count);

        long write(int fd, byte[] buf, long count);

        int close(int fd);

        int isatty(int fd);

        int kill(int pid, int sig);
    }

    private static LibC libc;

    private final int master;
    private final File slave;
    private volatile boolean closed;

    private Pty(int master, File slave) {
        this.master = master;
        this.slave = slave;
    }

    private static synchronized LibC libc() throws IOException {
        if (libc == null) {
            try {
                dev.brokerctl.daemon.Hardening.verifiedJna();   // JNA's native code checked, as in the daemon
                libc = Native.load("c", LibC.class);
            } catch (UnsatisfiedLinkError | RuntimeException e) {
                throw new IOException("cannot load libc for a pseudo-terminal: " + e.getMessage());
            }
        }
        return libc;
    }

    /** Opens a new pair; the slave is {@link #slave()}, unlocked and ready to open. */
    static Pty open() throws IOException {
        LibC c = libc();
        int fd = c.posix_openpt(O_RDWR | O_NOCTTY);
        if (fd < 0) {
            throw new IOException("posix_openpt failed (errno " + Native.getLastError() + ")");
        }
        byte[] name = new byte[128];
        if (c.grantpt(fd) != 0 || c.unlockpt(fd) != 0 || c.ptsname_r(fd, name, name.length) != 0) {
            int errno = Native.getLastError();
            c.close(fd);
            throw new IOException("cannot set up the pseudo-terminal (errno " + errno + ")");
        }
        int len = 0;
        while (len < name.length && name[len] != 0) {
            len++;
        }
        return new Pty(fd, new File(new String(name, 0, len, java.nio.charset.StandardCharsets.US_ASCII)));
    }

    /** True when {@code fd} is a terminal. */
    static boolean isTerminal(int fd) {
        try {
            return libc().isatty(fd) == 1;
        } catch (IOException e) {
            return false;
        }
    }

    /** The window size of the terminal on {@code fd} as {rows, cols}, or null. */
    static int[] windowSize(int fd) {
        try {
            byte[] ws = new byte[8];
            if (libc().ioctl(fd, TIOCGWINSZ, ws) != 0) {
                return null;
            }
            ByteBuffer b = ByteBuffer.wrap(ws).order(ByteOrder.nativeOrder());
            return new int[] {Short.toUnsignedInt(b.getShort()), Short.toUnsignedInt(b.getShort())};
        } catch (IOException e) {
            return null;
        }
    }

    File slave() {
        return slave;
    }

    /** Sets the pty's window size; the kernel sends SIGWINCH to its foreground process group. */
    void resize(int rows, int cols) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        b.putShort((short) rows).putShort((short) cols).putShort((short) 0).putShort((short) 0);
        if (libc().ioctl(master, TIOCSWINSZ, b.array()) != 0) {
            throw new IOException("cannot set the window size (errno " + Native.getLastError() + ")");
        }
    }

    /**
     * Sends {@code signal} as the terminal would: SIGINT to the pty's foreground process group,
     * SIGTERM and SIGHUP to its session leader (the agent). Pids as this process sees them.
     */
    boolean signal(int signal) {
        try {
            int[] id = new int[1];
            if (signal == SIGINT && libc().ioctl(master, TIOCGPGRP, id) == 0 && id[0] > 1) {
                return libc().kill(-id[0], signal) == 0;
            }
            if (libc().ioctl(master, TIOCGSID, id) == 0 && id[0] > 1) {
                return libc().kill(id[0], signal) == 0;
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    /** Reads what the agent wrote; -1 once every slave descriptor is closed (EIO). */
    int read(byte[] buf) throws IOException {
        long n = libc().read(master, buf, buf.length);
        if (n > 0) {
            return (int) n;
        }
        if (n == 0) {
            return -1;
        }
        int errno = Native.getLastError();
        if (errno == 4) {   // EINTR
            return 0;
        }
        return -1;   // EIO: the other side is gone
    }

    /** Writes what the human typed, all of it. */
    void write(byte[] buf, int len) throws IOException {
        byte[] chunk = buf;
        int off = 0;
        while (off < len) {
            if (off > 0) {
                chunk = java.util.Arrays.copyOfRange(buf, off, len);
            }
            long n = libc().write(master, chunk, len - off);
            if (n < 0) {
                int errno = Native.getLastError();
                if (errno == 4) {
                    continue;
                }
                throw new IOException("writing to the pseudo-terminal failed (errno " + errno + ")");
            }
            off += (int) n;
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            try {
                libc().close(master);
            } catch (IOException ignored) {
                // libc was loaded when the pty was opened
            }
        }
    }
}

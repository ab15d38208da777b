package dev.brokerctl.daemon;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the daemon itself verified about the process at the other end of a connection: pid and
 * uid from the kernel ({@code SO_PEERCRED}, fixed at connect), and that pid's executable and
 * controlling terminal from {@code /proc}, and whether it lives in a PID namespace other than the
 * daemon's ({@code sandboxed}: it was started in a sandbox such as {@code brokerctl sandbox};
 * null when unknown). Nothing here comes from the client's own words; what
 * it says about itself is {@link Run.Requester}'s claimed part.
 *
 * <p>The JDK offers SO_PEERCRED only as a user name, so the socket's descriptor is read
 * reflectively (the launcher opens {@code sun.nio.ch}); where that is refused the peer is
 * {@link #UNKNOWN}, and the console says the pid is unverified.
 */
record Peer(long pid, long uid, String exe, String tty, Boolean sandboxed) {

    static final Peer UNKNOWN = new Peer(-1, -1, "", "", null);
    private static final String OWN_PID_NAMESPACE = link(-1, "ns/pid");

    private static final Field FD = fdField();

    static Peer of(SocketChannel channel) {
        int fd = fd(channel);
        long[] cred = Posix.peerCredentials(fd);
        if (cred == null || cred[0] <= 0) {
            return UNKNOWN;
        }
        long pid = cred[0];
        String ns = link(pid, "ns/pid");
        return new Peer(pid, cred[1], link(pid, "exe"), dev.brokerctl.protocol.Ttys.controlling(pid),
                ns.isEmpty() || OWN_PID_NAMESPACE.isEmpty() ? null : !ns.equals(OWN_PID_NAMESPACE));
    }

    /**
     * Only the pid from SO_PEERCRED (-1 when unverifiable): what the connection limits count by,
     * cheap enough for every connection of a flood (no /proc reads).
     */
    static long pidOf(SocketChannel channel) {
        long[] cred = Posix.peerCredentials(fd(channel));
        return cred == null || cred[0] <= 0 ? -1 : cred[0];
    }

    /** This very process: the foreground daemon's own console, connected in-process. */
    static Peer self() {
        long pid = ProcessHandle.current().pid();
        long uid = dev.brokerctl.protocol.SocketCheck.ownUid();
        return new Peer(pid, uid, link(pid, "exe"), dev.brokerctl.protocol.Ttys.controlling(pid), false);
    }

    /** False when the JVM refused the descriptor (started without the launcher's --add-opens). */
    static boolean verifiable() {
        return FD != null;
    }

    /** For the console and the audit: the verified facts only. */
    Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", pid);
        m.put("uid", uid);
        m.put("exe", exe);
        m.put("tty", tty);
        if (sandboxed != null) {
            m.put("sandboxed", sandboxed);
        }
        return m;
    }

    /** A /proc link of {@code pid} (-1: this process), or "" when it cannot be read. */
    private static String link(long pid, String what) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", pid < 0 ? "self" : Long.toString(pid)).resolve(what)).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "";
        }
    }

    private static int fd(SocketChannel channel) {
        if (FD == null) {
            return -1;
        }
        try {
            return FD.getInt(channel);
        } catch (IllegalAccessException | IllegalArgumentException e) {
            return -1;
        }
    }

    private static Field fdField() {
        try {
            Field f = Class.forName("sun.nio.ch.SocketChannelImpl").getDeclaredField("fdVal");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;   // not opened to us: peers stay unverified
        }
    }
}

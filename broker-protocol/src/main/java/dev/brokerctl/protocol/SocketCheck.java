package dev.brokerctl.protocol;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * What every client checks before it sends a byte (DESIGN.md "Socket and roles"): the socket's
 * directory is a real directory, not a symbolic link, owned by this user with mode 0700, and the
 * socket is this user's and not a symbolic link. The same rules the daemon enforces when it
 * binds; a socket elsewhere was not put there by a daemon of ours. (A process of the same user can
 * still make such a directory: the handshake, not this check, is what tells the real daemon.)
 */
public final class SocketCheck {

    private SocketCheck() {
    }

    /** @throws DaemonUnavailableException when nothing is there; BrokerException when the rules are broken */
    public static void beforeConnect(Path socket) throws BrokerException {
        Path dir = socket.toAbsolutePath().getParent();
        if (dir == null) {
            throw refuse("the socket path " + socket + " has no directory; set BROKERCTL_SOCKET to a path in a"
                    + " directory of its own");
        }
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.notExists(dir, LinkOption.NOFOLLOW_LINKS)) {
                // neither exists nor not: a directory above it is someone else's
                throw new BrokerException(ErrorCode.INTERNAL, "permission denied on " + socket
                        + ": that daemon belongs to another user, and serves only its own user");
            }
            throw new DaemonUnavailableException("no brokerctl daemon is running (no directory " + dir
                    + "); start one with: brokerctl daemon", null);
        }
        long me = ownUid();
        if (Files.isSymbolicLink(dir)) {
            throw refuse("the socket directory " + dir + " is a symbolic link; brokerctl connects only through"
                    + " a real directory. Remove the link (rm " + dir + ") and start the daemon again: brokerctl daemon");
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw refuse("the socket directory " + dir + " is not a directory; remove it and start the daemon"
                    + " again: brokerctl daemon");
        }
        long dirUid = uid(dir);
        if (me >= 0 && dirUid != me) {
            throw refuse("the socket directory " + dir + " belongs to uid " + dirUid + ", not to you (uid " + me
                    + "); that daemon serves only its own user. Use a directory of your own (BROKERCTL_SOCKET)");
        }
        int mode = mode(dir);
        if ((mode & 0077) != 0) {
            throw refuse("the socket directory " + dir + " has mode 0" + Integer.toOctalString(mode)
                    + "; brokerctl connects only through a 0700 directory, which nobody else can put a socket"
                    + " in. Fix it with: chmod 700 " + dir + ", then restart the daemon: brokerctl stop; brokerctl daemon");
        }
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;   // connect() reports "no socket at ..."
        }
        if (Files.isSymbolicLink(socket)) {
            throw refuse("the socket " + socket + " is a symbolic link; brokerctl connects only to the socket"
                    + " itself. Remove the link (rm " + socket + ") and start the daemon again: brokerctl daemon");
        }
        long socketUid = uid(socket);
        if (me >= 0 && socketUid != me) {
            throw refuse("the socket " + socket + " belongs to uid " + socketUid + ", not to you (uid " + me
                    + "); remove it and start the daemon again: brokerctl daemon");
        }
    }

    private static BrokerException refuse(String message) {
        return new BrokerException(ErrorCode.NOT_AUTHENTIC, message);
    }

    /**
     * This process's effective uid, from {@code /proc/self/status}; -1 without procfs (no check
     * then). Not the owner of {@code /proc/self}: a non-dumpable process's is root.
     */
    public static long ownUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Long.parseLong(line.substring(4).trim().split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // no procfs
        }
        return -1;
    }

    private static long uid(Path p) {
        try {
            return ((Number) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS)).longValue();
        } catch (IOException | UnsupportedOperationException e) {
            return -1;
        }
    }

    private static int mode(Path p) {
        try {
            return ((Number) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS)).intValue() & 07777;
        } catch (IOException | UnsupportedOperationException e) {
            return 0777;
        }
    }

}

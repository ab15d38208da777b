package dev.brokerctl.vault;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What a vault's three files look like (device and inode; change time and size of {@code vault.db}
 * and {@code -wal}, which only writers change), taken by a session after each of its commits.
 * SQLite tells a connection about another process's commits ({@code PRAGMA data_version}), but not
 * about a page written into {@code vault.db} around its locking, nor about a {@code -wal} or
 * {@code -shm} put in place of the ones the connection has open; those show here. The change time
 * cannot be set back by the file's owner. A store through a shared mapping into a page already
 * dirty does not move it: {@link VaultSession}'s periodic full check is for that.
 */
record VaultFiles(Part db, Part wal, String shm) {

    /** One file's identity ({@code dev:ino}) and state; a null identity when it does not exist. */
    record Part(String identity, long ctimeNanos, long size) {
        static final Part ABSENT = new Part(null, -1, -1);
        static final String UNKNOWN = "unknown";
    }

    static VaultFiles of(Path db) {
        // -shm: its identity only; readers write their marks into it
        return new VaultFiles(part(db), part(db.resolveSibling(db.getFileName() + "-wal")),
                part(db.resolveSibling(db.getFileName() + "-shm")).identity());
    }

    /**
     * The write-ahead log or its index is another file than {@code earlier}'s (removed, or a new
     * one in its place): this connection still writes to the old one, which no other process
     * reads.
     */
    boolean logReplacedSince(VaultFiles earlier) {
        return replaced(wal.identity(), earlier.wal.identity()) || replaced(shm, earlier.shm);
    }

    private static boolean replaced(String now, String earlier) {
        return !Part.UNKNOWN.equals(now) && !Part.UNKNOWN.equals(earlier) && !java.util.Objects.equals(now, earlier);
    }

    private static Part part(Path file) {
        try {
            Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino,ctime,size", LinkOption.NOFOLLOW_LINKS);
            return new Part(a.get("dev") + ":" + a.get("ino"), ((FileTime) a.get("ctime")).to(TimeUnit.NANOSECONDS),
                    (Long) a.get("size"));
        } catch (NoSuchFileException e) {
            return Part.ABSENT;
        } catch (IOException | UnsupportedOperationException e) {
            // not known: never equal to another reading (the next write checks everything again),
            // never taken for a replaced file
            return new Part(Part.UNKNOWN, System.nanoTime(), -1);
        }
    }
}

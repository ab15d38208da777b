package dev.brokerctl.vault;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Properties;
import org.sqlite.util.LibraryLoaderUtil;

/**
 * sqlite-jdbc extracts its native library to {@code java.io.tmpdir} on every start and leaves a
 * copy behind when the JVM exits through {@code System.exit}. brokerctl starts a JVM per command,
 * so the library is extracted once into a private (0700) folder beside the vault instead and
 * loaded from there through sqlite-jdbc's {@code org.sqlite.lib.path}.
 *
 * <p>A same-user process can write that folder, so the file is never trusted by its size or
 * name: before every load its SHA-256 is checked against the one recorded in the jar at build time
 * ({@link NativeDigests}); on a mismatch it is extracted again (temp file, fsync, rename) and
 * checked again. Without a recorded hash nothing extracted here is used. What is left: an agent
 * that rewrites the file in the instant between the check and the load (containment hides the
 * broker home from it), and an agent that can rewrite the jar itself ({@code status} says so).
 */
final class SqliteNative {

    private static volatile boolean done;
    private static volatile String report = "the SQLite native library was not prepared yet";

    private SqliteNative() {
    }

    /** What the last {@link #prepare} did, for the daemon's log. */
    static String report() {
        return report;
    }

    /** Before the first connection; any failure leaves sqlite-jdbc's own loading in place. */
    static void prepare(Path vaultDirectory) {
        if (done || System.getProperty("org.sqlite.lib.path") != null) {
            return;
        }
        synchronized (SqliteNative.class) {
            if (done) {
                return;
            }
            done = true;
            try {
                String folder = LibraryLoaderUtil.getNativeLibResourcePath();
                String name = LibraryLoaderUtil.getNativeLibName();
                String resource = folder + "/" + name;
                String expected = recorded(resource);
                java.net.URL url = SqliteNative.class.getResource(resource);
                if (url == null || expected == null) {
                    report = "SQLite native library " + resource + ": no SHA-256 recorded in the jar; not using"
                            + " an extracted copy (sqlite-jdbc extracts its own)";
                    return;
                }
                String version = org.sqlite.SQLiteJDBCLoader.getVersion();
                Path root = privateDirectory(vaultDirectory.resolve("native"));
                Path dir = privateDirectory(root.resolve("sqlite-" + version));
                Path lib = dir.resolve(name);
                String what;
                if (Files.isRegularFile(lib, LinkOption.NOFOLLOW_LINKS) && expected.equals(sha256(lib))) {
                    what = "verified";
                } else {
                    what = Files.exists(lib, LinkOption.NOFOLLOW_LINKS) ? "did NOT match its recorded SHA-256;"
                            + " extracted again and verified" : "extracted and verified";
                    extract(url, dir, lib, name);
                    if (!expected.equals(sha256(lib))) {
                        report = "SQLite native library " + lib + " does not match its recorded SHA-256 even"
                                + " after extracting it again; not using it";
                        return;
                    }
                }
                System.setProperty("org.sqlite.lib.path", dir.toString());
                System.setProperty("org.sqlite.lib.name", name);
                report = "SQLite native library " + lib + " " + what + " (sha256 " + expected + ")";
            } catch (IOException | RuntimeException e) {
                report = "SQLite native library not prepared (" + e.getMessage() + "); sqlite-jdbc extracts its own";
            }
        }
    }

    private static String recorded(String resource) throws IOException {
        try (InputStream in = SqliteNative.class.getResourceAsStream("/" + NativeDigests.RESOURCE)) {
            if (in == null) {
                return null;
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty(resource);
        }
    }

    /**
     * A real directory (not a link), 0700. A link, file or FIFO in its place (planted by a
     * process of this user, to make the library unloadable: JNA's missing means a daemon that
     * cannot make itself non-dumpable) is removed first.
     */
    static Path privateDirectory(Path dir) throws IOException {
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.delete(dir);
        }
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        return dir;
    }

    static void extract(java.net.URL url, Path dir, Path lib, String name) throws IOException {
        Path partial = Files.createTempFile(dir, name, ".partial");
        try (InputStream in = url.openStream();
                FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                OutputStream out = java.nio.channels.Channels.newOutputStream(ch)) {
            in.transferTo(out);
            out.flush();
            ch.force(true);
        }
        try {
            Files.move(partial, lib, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(partial, lib, StandardCopyOption.REPLACE_EXISTING);
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // some file systems cannot sync a directory; the file itself was synced
        }
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            return NativeDigests.sha256(in);
        }
    }
}

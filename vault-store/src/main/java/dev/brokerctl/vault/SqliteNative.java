package dev.brokerctl.vault;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.sqlite.util.LibraryLoaderUtil;

/**
 * sqlite-jdbc extracts its native library to {@code java.io.tmpdir} on every start and leaves a
 * copy behind when the JVM exits through {@code System.exit}. brokerctl starts a JVM per command,
 * so the library is extracted once into a private folder beside the vault instead, written
 * atomically, and loaded from there through sqlite-jdbc's {@code org.sqlite.lib.path}.
 */
final class SqliteNative {

    private static volatile boolean done;

    private SqliteNative() {
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
                String version = org.sqlite.SQLiteJDBCLoader.getVersion();
                Path dir = vaultDirectory.resolve("native").resolve("sqlite-" + version);
                Path lib = dir.resolve(name);
                java.net.URL url = SqliteNative.class.getResource(resource);
                if (url == null) {
                    return;
                }
                // a jar entry's size comes from its header: no need to inflate the library
                long expected = url.openConnection().getContentLengthLong();
                if (!Files.isRegularFile(lib) || Files.size(lib) != expected) {
                    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                    Path partial = Files.createTempFile(dir, name, ".partial");
                    try (InputStream in = url.openStream()) {
                        Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
                    }
                    try {
                        Files.move(partial, lib, StandardCopyOption.ATOMIC_MOVE,
                                StandardCopyOption.REPLACE_EXISTING);
                    } catch (AtomicMoveNotSupportedException e) {
                        Files.move(partial, lib, StandardCopyOption.REPLACE_EXISTING);
                    }
                }
                if (Files.size(lib) == expected) {
                    System.setProperty("org.sqlite.lib.path", dir.toString());
                    System.setProperty("org.sqlite.lib.name", name);
                }
            } catch (IOException | RuntimeException e) {
                // fall back to sqlite-jdbc's extraction into the temp folder
            }
        }
    }
}

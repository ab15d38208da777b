package dev.brokerctl.vault;

import java.io.IOException;
import java.io.InputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Build step (vault-store's pom, {@code process-classes}): records the SHA-256 of every Linux
 * native library in the sqlite-jdbc jar into {@link #RESOURCE}, which {@link SqliteNative} checks
 * an extracted library against before it lets it load. Not used at run time.
 *
 * <p>{@code java -cp CLASSPATH dev.brokerctl.vault.NativeDigests OUTPUT_CLASSES_DIR}
 */
public final class NativeDigests {

    static final String RESOURCE = "dev/brokerctl/vault/sqlite-native.sha256";

    private NativeDigests() {
    }

    /**
     * {@code OUTPUT_CLASSES_DIR} alone: sqlite-jdbc's libraries into {@link #RESOURCE}; or
     * {@code OUTPUT_CLASSES_DIR CLASS PREFIX RESOURCE}: every entry under {@code PREFIX} of the jar
     * that holds {@code CLASS} (JNA's, for broker-daemon) into {@code RESOURCE}.
     */
    public static void main(String[] args) throws Exception {
        String owner = args.length > 1 ? args[1] : "org.sqlite.SQLiteJDBCLoader";
        String prefix = args.length > 2 ? args[2] : "org/sqlite/native/Linux";
        String resource = args.length > 3 ? args[3] : RESOURCE;
        Path jar = Path.of(Class.forName(owner, false, NativeDigests.class.getClassLoader())
                .getProtectionDomain().getCodeSource().getLocation().toURI());
        TreeMap<String, String> digests = new TreeMap<>();
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (!e.isDirectory() && e.getName().startsWith(prefix)) {
                    try (InputStream in = zip.getInputStream(e)) {
                        digests.put("/" + e.getName(), sha256(in));
                    }
                }
            }
        }
        if (digests.isEmpty()) {
            throw new IllegalStateException("no native library under " + prefix + " in " + jar);
        }
        Path out = Path.of(args[0]).resolve(resource);
        Files.createDirectories(out.getParent());
        try (Writer w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            w.write("# SHA-256 of native libraries, recorded at build time from " + jar.getFileName() + "\n");
            for (var d : digests.entrySet()) {
                w.write(d.getKey() + "=" + d.getValue() + "\n");
            }
        }
    }

    /**
     * The library at {@code dir/name}, checked against {@code expected} (SHA-256 hex) and extracted
     * again from {@code resource} (temp file, fsync, rename) when it does not match; null when even
     * a fresh copy does not match. {@code dir} is made a private (0700) real directory first.
     */
    public static Path verified(java.net.URL resource, String expected, Path dir, String name) throws IOException {
        SqliteNative.privateDirectory(dir.getParent());
        SqliteNative.privateDirectory(dir);
        Path lib = dir.resolve(name);
        if (java.nio.file.Files.isRegularFile(lib, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                && expected.equals(SqliteNative.sha256(lib))) {
            return lib;
        }
        SqliteNative.extract(resource, dir, lib, name);
        return expected.equals(SqliteNative.sha256(lib)) ? lib : null;
    }

    /** The digest {@code resourceFile} (on the class path of {@code owner}) records for {@code entry}, or null. */
    public static String recorded(Class<?> owner, String resourceFile, String entry) throws IOException {
        try (InputStream in = owner.getResourceAsStream("/" + resourceFile)) {
            if (in == null) {
                return null;
            }
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty(entry);
        }
    }

    static String sha256(InputStream in) throws IOException {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[65536];
            int n;
            while ((n = in.read(buf)) > 0) {
                d.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

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

    public static void main(String[] args) throws Exception {
        Path jar = Path.of(org.sqlite.SQLiteJDBCLoader.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        TreeMap<String, String> digests = new TreeMap<>();
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (!e.isDirectory() && e.getName().startsWith("org/sqlite/native/Linux")) {
                    try (InputStream in = zip.getInputStream(e)) {
                        digests.put("/" + e.getName(), sha256(in));
                    }
                }
            }
        }
        if (digests.isEmpty()) {
            throw new IllegalStateException("no Linux native library in " + jar);
        }
        Path out = Path.of(args[0]).resolve(RESOURCE);
        Files.createDirectories(out.getParent());
        try (Writer w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            w.write("# SHA-256 of sqlite-jdbc's native libraries, recorded at build time from " + jar.getFileName() + "\n");
            for (var d : digests.entrySet()) {
                w.write(d.getKey() + "=" + d.getValue() + "\n");
            }
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

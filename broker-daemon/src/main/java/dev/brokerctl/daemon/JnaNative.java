package dev.brokerctl.daemon;

import dev.brokerctl.vault.NativeDigests;
import java.io.IOException;
import java.net.URL;
import java.nio.file.Path;

/**
 * JNA's own native library ({@code libjnidispatch.so}), which JNA would extract to a fresh temp
 * file on every start, is instead extracted once beside the vault, checked against the SHA-256
 * recorded in the jar at build time before every load (re-extracted on a mismatch), and loaded
 * from there ({@code jna.boot.library.path}); JNA may not unpack one of its own
 * ({@code jna.nounpack}), so without a verified copy it loads none and brokerctl works without
 * its libc calls (and says so). As for SQLite's library: left is the instant between the check and
 * the load, and a jar the user can write.
 */
final class JnaNative {

    static final String RESOURCE = "dev/brokerctl/daemon/jna-native.sha256";

    private static volatile String report = "JNA's native library was not prepared";
    /** The verified copy, once prepared. */
    private static volatile Path verified;

    private JnaNative() {
    }

    /** What was prepared, or a warning when JNA loaded its library from anywhere else. */
    static String report() {
        String other = loadedElsewhere();
        if (other == null) {
            return report;
        }
        return "JNA native library loaded from " + other + ", NOT " + (verified == null
                ? "a verified copy (" + report + ")" : "the verified " + verified
                + ": JNA was used before it was prepared (a bug; report it)");
    }

    /**
     * The file JNA loaded its library from, when that is not the verified copy (none was verified:
     * {@code jna.boot.library.path} set from outside, or the check failed); else null.
     */
    static String loadedElsewhere() {
        String loaded = System.getProperty("jnidispatch.path");   // JNA sets it to the file it loaded
        Path lib = verified;
        return loaded != null && (lib == null || !Path.of(loaded).equals(lib)) ? loaded : null;
    }

    /** Before JNA's first use: Posix calls it from its static initialiser. */
    static synchronized void prepare() {
        if (System.getProperty("jna.boot.library.path") != null) {
            return;
        }
        System.setProperty("jna.nounpack", "true");
        System.setProperty("jna.nosys", "true");
        String arch = System.getProperty("os.arch").equals("amd64") ? "x86-64" : System.getProperty("os.arch");
        String entry = "/com/sun/jna/linux-" + arch + "/libjnidispatch.so";
        try {
            String expected = NativeDigests.recorded(JnaNative.class, RESOURCE, entry);
            URL url = com.sun.jna.Native.class.getResource(entry);
            if (expected == null || url == null) {
                report = "JNA native library " + entry + ": no SHA-256 recorded in the jar; none loaded";
                return;
            }
            Path home = dev.brokerctl.protocol.BrokerPaths.fromEnvironment().home();
            Path dir = home.resolve("native").resolve("jna-" + com.sun.jna.Native.VERSION_NATIVE);
            Path lib = NativeDigests.verified(url, expected, dir, "libjnidispatch.so");
            if (lib == null) {
                report = "JNA native library in " + dir + " does not match its recorded SHA-256 even after"
                        + " extracting it again; none loaded";
                return;
            }
            System.setProperty("jna.boot.library.path", dir.toString());
            verified = lib;
            report = "JNA native library " + lib + " verified (sha256 " + expected + ")";
        } catch (IOException | RuntimeException e) {
            report = "JNA native library not prepared (" + e.getClass().getSimpleName() + "); none loaded";
        }
    }
}

package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A same-size library planted where brokerctl extracts SQLite's (as the agent's user) is not
 * loaded: the daemon checks the file against the SHA-256 recorded in the jar, extracts it again,
 * and what its /proc/PID/maps shows is the verified file. The clean start is the probe.
 */
class NativeLibraryIT {

    Path dir;
    Brokerctl b;

    @AfterEach
    void tearDown() throws Exception {
        if (b != null) {
            b.run("stop");
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void aPlantedSameSizeLibrary_isReplacedBeforeItLoads_andTheCleanOneIsVerified() throws Exception {
        Unprivileged user = Unprivileged.user();
        dir = user.newDirectory("brokerctl-native-");
        b = new Brokerctl(dir).as(user);
        b.init();
        // the vault is made in this JVM (whose BROKERCTL_HOME is another): the first brokerctl
        // command that opens it extracts the library into the test's home
        assertEquals(0, b.run("env", "create", "dev").exit());
        Path lib;
        try (Stream<Path> found = Files.walk(b.home.resolve("native"))) {
            lib = found.filter(p -> p.getFileName().toString().equals("libsqlitejdbc.so")).findFirst().orElseThrow();
        }
        String recorded = recorded(lib);
        assertEquals(recorded, sha256(lib), "brokerctl extracted the library the jar recorded");

        // the probe: a clean start loads the verified file
        assertEquals(0, b.run("daemon", "--detach").exit());
        assertMapped(lib, recorded);
        assertTrue(Files.readString(b.home.resolve("brokerd.log")).contains("libsqlitejdbc.so verified (sha256 " + recorded));
        assertEquals(0, b.run("stop").exit());

        plantSameSize(lib, user, recorded);
        assertEquals(0, b.run("daemon", "--detach").exit());
        assertMapped(lib, recorded);
        assertTrue(Files.readString(b.home.resolve("brokerd.log")).contains("did NOT match its recorded SHA-256;"
                + " extracted again and verified"));
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(lib.getParent())));
    }

    /** JNA's libjnidispatch.so: verified beside the vault, a planted one replaced, never a temp file of JNA's own. */
    @Test
    void jnasNativeLibrary_isVerifiedBeforeItLoads_andAPlantedOneIsReplaced() throws Exception {
        Unprivileged user = Unprivileged.user();
        dir = user.newDirectory("brokerctl-jna-");
        b = new Brokerctl(dir).as(user);
        b.init();
        assertEquals(0, b.run("daemon", "--detach").exit());
        Path lib;
        try (Stream<Path> found = Files.walk(b.home.resolve("native"))) {
            lib = found.filter(p -> p.getFileName().toString().equals("libjnidispatch.so")).findFirst().orElseThrow();
        }
        Properties p = new Properties();
        try (InputStream in = NativeLibraryIT.class.getResourceAsStream("/dev/brokerctl/daemon/jna-native.sha256")) {
            p.load(in);
        }
        String arch = System.getProperty("os.arch").equals("amd64") ? "x86-64" : System.getProperty("os.arch");
        String recorded = p.getProperty("/com/sun/jna/linux-" + arch + "/libjnidispatch.so");
        assertEquals(recorded, sha256(lib));
        assertMapped("jnidispatch", lib);
        assertEquals(0, b.run("stop").exit());

        plantSameSize(lib, user, recorded);
        assertEquals(0, b.run("daemon", "--detach").exit());
        assertMapped("jnidispatch", lib);
        assertEquals(recorded, sha256(lib), "the planted file was replaced by the recorded one");
        assertTrue(Files.readString(b.home.resolve("brokerd.log")).contains("JNA native library " + lib + " verified"));
        assertEquals(0, b.run("stop").exit());

        // a file where the library's directory goes: once, it left the daemon without JNA, so
        // dumpable ("NOT non-dumpable: no libc"); now the file is removed and the library extracted
        Path libDir = lib.getParent();
        Brokerctl.deleteTree(libDir);
        Files.writeString(libDir, "in the way");
        user.own(libDir);
        Files.writeString(b.home.resolve("brokerd.log"), "");
        assertEquals(0, b.run("daemon", "--detach").exit());
        assertMapped("jnidispatch", lib);
        String log = Files.readString(b.home.resolve("brokerd.log"));
        assertTrue(log.contains("non-dumpable") && !log.contains("NOT non-dumpable"), log);
    }

    /**
     * The plant: same size, other bytes, written by the agent's user, beside the library and then
     * renamed over it (rewriting it in place would also change the copy this test JVM mapped).
     */
    private static void plantSameSize(Path lib, Unprivileged user, String recorded) throws Exception {
        byte[] shim = new byte[(int) Files.size(lib)];
        new java.util.Random(1).nextBytes(shim);
        Path planted = lib.resolveSibling("planted");
        Files.write(planted, shim);
        Files.move(planted, lib, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        user.own(lib);
        assertFalse(recorded.equals(sha256(lib)));
    }

    private void assertMapped(Path lib, String recorded) throws Exception {
        assertMapped("sqlitejdbc", lib);
        assertEquals(recorded, sha256(lib), "the mapped file is the recorded library");
    }

    /** Every mapping of the daemon whose path names {@code library} is {@code lib}, and there is one. */
    private void assertMapped(String library, Path lib) throws Exception {
        List<String> mapped = Files.readAllLines(Path.of("/proc", Long.toString(b.daemonPid()), "maps")).stream()
                .filter(l -> l.contains(library)).toList();
        assertFalse(mapped.isEmpty(), "the daemon has not loaded " + library);
        for (String line : mapped) {
            assertTrue(line.endsWith(lib.toString()), line);
        }
    }

    private static String recorded(Path lib) throws Exception {
        Properties p = new Properties();
        try (InputStream in = NativeLibraryIT.class.getResourceAsStream("/dev/brokerctl/vault/sqlite-native.sha256")) {
            p.load(in);
        }
        String arch = lib.getParent().getFileName().toString();
        return p.entrySet().stream().filter(e -> e.getKey().toString().startsWith("/org/sqlite/native/Linux/")
                && e.getKey().toString().contains("/" + archDir() + "/")).map(e -> e.getValue().toString())
                .findFirst().orElseThrow(() -> new AssertionError("no recorded hash for " + arch));
    }

    private static String archDir() {
        String a = System.getProperty("os.arch");
        return a.equals("amd64") || a.equals("x86_64") ? "x86_64" : a;
    }

    private static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }
}

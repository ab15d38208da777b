package dev.brokerctl.vault;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Names, descriptions and values never reach the vault file, its WAL or its shared memory. */
class VaultPlaintextScanTest {

    @TempDir
    Path tmp;

    static final List<String> CANARIES = List.of(
            "CanaryEnvName",
            "CANARY_VARIABLE_NAME_91c2",
            "canary-value-5b7e0d19",
            "canary description text 44af",
            "canary-imported-multi\nline-value-e1");

    @Test
    void canaries_areAbsentFromVaultWalAndShm_whileOpenAndAfterClose() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("canaryenvname", Policy.PROMPT);
            s.put("canaryenvname", CANARIES.get(1), TestVaults.value(CANARIES.get(2)), CANARIES.get(3));
            s.put("canaryenvname", "SECOND", TestVaults.value(CANARIES.get(4)), null);
            // overwrite and delete, so old versions would linger in free pages without secure_delete
            s.put("canaryenvname", CANARIES.get(1), TestVaults.value("replacement-value"), null);
            s.delete("canaryenvname", "SECOND");
            scan(file, "canaryenvname");
        }
        scan(file, "canaryenvname");
    }

    private static void scan(Path file, String envName) throws Exception {
        List<Path> files = new ArrayList<>();
        for (String suffix : List.of("", "-wal", "-shm", "-journal")) {
            Path p = file.resolveSibling(file.getFileName() + suffix);
            if (Files.exists(p)) {
                files.add(p);
            }
        }
        assertTrue(files.contains(file));
        List<String> needles = new ArrayList<>(CANARIES);
        needles.add(envName);
        needles.add("replacement-value");
        for (Path p : files) {
            byte[] content = Files.readAllBytes(p);
            for (String canary : needles) {
                for (String piece : canary.split("\n")) {
                    assertFalse(contains(content, piece.getBytes(StandardCharsets.UTF_8)),
                            "plaintext found in " + p.getFileName() + " (canary #" + needles.indexOf(canary) + ")");
                }
            }
        }
    }

    static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}

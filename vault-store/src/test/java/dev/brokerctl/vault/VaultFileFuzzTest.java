package dev.brokerctl.vault;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.brokerctl.vault.audit.AuditEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzz test of the vault file opener (Jazzer; seeds in {@code VaultFileFuzzTestInputs/}, {@code
 * JAZZER_FUZZ=1} fuzzes, docs/testing.md). A real vault, made once, is patched at fuzzed offsets
 * (and maybe cut short), then opened, unlocked, listed, read and its audit verified. Whatever the
 * bytes: only a {@link VaultException} (the CLI prints its message and says what to do), no other
 * exception; a value read back is the value written, never a changed one; no message holds a
 * value. Jazzer's own limits (a per-input timeout, an RSS limit) catch a hang or unbounded memory
 * when it fuzzes.
 */
class VaultFileFuzzTest {

    @TempDir
    static Path dir;

    private static final Map<String, String> VALUES = new LinkedHashMap<>();

    static {
        VALUES.put("API_TOKEN", "CANARY-vault-fuzz-7d1e0b");
        VALUES.put("DB_URL", "postgres://u:CANARY-pw-93c2@db/app");
        VALUES.put("MULTI", "line one\nCANARY-line-two\n");
    }

    private static byte[] template;

    /** A vault with one environment, three values and some audit entries; its bytes after close. */
    private static synchronized byte[] template() {
        if (template == null) {
            try {
                Path file = TestVaults.create(dir.resolve("template"));
                try (VaultSession s = TestVaults.unlock(file)) {
                    s.createEnvironment("dev", Policy.PROMPT);
                    for (Map.Entry<String, String> e : VALUES.entrySet()) {
                        s.put("dev", e.getKey(), TestVaults.value(e.getValue()), "d");
                    }
                    s.audit(AuditEvent.LOCKED, null, Map.of("reason", "fuzz template"));
                    s.checkpoint();
                }
                template = Files.readAllBytes(file);
            } catch (VaultException | IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return template;
    }

    @FuzzTest(maxDuration = "5m")
    void mutatedVaultRefusedCleanly(FuzzedDataProvider data) {
        byte[] bytes = template().clone();
        int patches = data.consumeInt(0, 8);
        for (int i = 0; i < patches; i++) {
            int at = data.consumeInt(0, bytes.length - 1);
            byte[] patch = data.consumeBytes(data.consumeInt(1, 16));
            System.arraycopy(patch, 0, bytes, at, Math.min(patch.length, bytes.length - at));
        }
        if (data.consumeBoolean()) {
            bytes = java.util.Arrays.copyOf(bytes, data.consumeInt(0, bytes.length));
        }
        Path file = dir.resolve("case").resolve("vault.db");
        try {
            Files.createDirectories(file.getParent());
            for (String suffix : List.of("", "-wal", "-shm", ".mark")) {
                Files.deleteIfExists(Path.of(file + suffix));
            }
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (Vault v = Vault.open(file); VaultSession s = v.unlock(TestVaults.pass())) {
            s.listEnvironments();
            s.listVariables("dev");
            try (ResolvedValues r = s.resolve("dev", null)) {
                for (String name : r.names()) {
                    String expected = VALUES.get(name);
                    assertArrayEquals(expected == null ? null : expected.getBytes(StandardCharsets.UTF_8),
                            r.get(name).revealBytes(), "a value read back differs from the one written: " + name);
                }
            }
            s.verifyAudit();
        } catch (VaultException e) {
            String m = String.valueOf(e.getMessage());
            for (String value : VALUES.values()) {
                assertFalse(m.contains(value) || m.contains("CANARY"), "a value in an error message");
            }
        }
    }
}

package dev.brokerctl.vault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.brokerctl.vault.crypto.KdfParams;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The floor for a new keyslot (OWASP: m >= 19 MiB, t >= 2); only the test switch goes lower. */
class KdfPolicyTest {

    @TempDir
    Path tmp;

    @Test
    void createBelowTheMemoryFloor_isRefused_andNoFileIsMade() {
        Path file = tmp.resolve("home/vault.db");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Vault.create(file, TestVaults.pass(), new KdfParams(18 * 1024, 3, 1)));
        assertEquals("Argon2id memory 18 MiB is below the minimum of 19 MiB for a new vault", e.getMessage());
        assertFalse(Files.exists(file));
    }

    @Test
    void createBelowTheIterationFloor_isRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Vault.create(tmp.resolve("v.db"), TestVaults.pass(), new KdfParams(19 * 1024, 1, 1)));
        assertEquals("Argon2id iterations 1 is below the minimum of 2 for a new vault", e.getMessage());
    }

    @Test
    void createAtTheFloor_works() throws Exception {
        Path file = tmp.resolve("v.db");
        Vault.create(file, TestVaults.pass(), new KdfParams(KdfParams.MIN_MEMORY_KIB, KdfParams.MIN_ITERATIONS, 1));
        try (Vault v = Vault.open(file)) {
            assertEquals(new KdfParams(19 * 1024, 2, 1), v.kdfParams());
            v.unlock(TestVaults.pass()).close();
        }
    }

    @Test
    void testSwitch_goesBelowTheFloor_butNotAboveTheCaps() throws Exception {
        Vault.create(tmp.resolve("v.db"), TestVaults.pass(), KdfParams.insecureForTests(256, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Vault.create(tmp.resolve("w.db"), TestVaults.pass(),
                KdfParams.insecureForTests(256, KdfParams.MAX_ITERATIONS + 1, 1)));
    }

    @Test
    void changePassphraseBelowTheFloor_isRefused() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            assertThrows(IllegalArgumentException.class,
                    () -> s.changePassphrase("a brand new passphrase".toCharArray(), new KdfParams(1024, 3, 1)));
        }
    }

    @Test
    void atLeastFloor_raisesWeakParameters_only() {
        assertEquals(new KdfParams(19 * 1024, 2, 1), new KdfParams(1024, 1, 1).atLeastFloor());
        assertEquals(KdfParams.DEFAULT, KdfParams.DEFAULT.atLeastFloor());
    }
}

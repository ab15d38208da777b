package dev.brokerctl.vault;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApproverKeysTest {

    @TempDir
    Path tmp;

    private static final byte[] TRANSPORT = new byte[32];
    private static final byte[] AAD = "unlock test".getBytes(StandardCharsets.US_ASCII);

    @Test
    void keysFromThePassphrase_areTheSessionsKeys_andDiffer() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file);
                ApproverKeys k = Vault.open(file).approverKeys(TestVaults.pass())) {
            assertArrayEquals(s.approverKey(), k.approverKey());
            assertArrayEquals(s.unlockVerifier(), k.unlockVerifier());
            assertFalse(Arrays.equals(k.approverKey(), k.unlockVerifier()));
            assertEquals("ApproverKeys[redacted]", k.toString());
        }
    }

    @Test
    void wrongPassphrase_givesNoKeys() throws Exception {
        Path file = TestVaults.create(tmp);
        assertThrows(WrongPassphraseException.class,
                () -> Vault.open(file).approverKeys("not the passphrase".toCharArray()));
    }

    @Test
    void sealedKey_unlocksOnlyAgainstItsVerifier() throws Exception {
        Path file = TestVaults.create(tmp);
        byte[] verifier;
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.PROMPT);
            s.put("dev", "A", TestVaults.value("alpha-value"), "");
            verifier = s.unlockVerifier();
        }
        byte[] sealed;
        try (ApproverKeys k = Vault.open(file).approverKeys(TestVaults.pass())) {
            sealed = k.sealVaultKey(TRANSPORT, AAD);
        }
        try (VaultSession s = Vault.open(file).unlockWithSealedKey(TRANSPORT, sealed, AAD, verifier)) {
            assertEquals("alpha-value", TestVaults.reveal(s.resolve("dev", java.util.List.of("A")), "A"));
        }
        // another vault's key, sealed the same way, is refused by this verifier
        Path other = tmp.resolve("other");
        Path otherFile = TestVaults.create(other);
        byte[] otherSealed;
        try (ApproverKeys k = Vault.open(otherFile).approverKeys(TestVaults.pass())) {
            otherSealed = k.sealVaultKey(TRANSPORT, AAD);
        }
        VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                () -> Vault.open(file).unlockWithSealedKey(TRANSPORT, otherSealed, AAD, verifier));
        assertTrue(e.getMessage().contains("not the key"), e.getMessage());
        // a tampered envelope or other AAD does not open
        byte[] bad = sealed.clone();
        bad[bad.length - 1] ^= 1;
        assertThrows(VaultIntegrityException.class,
                () -> Vault.open(file).unlockWithSealedKey(TRANSPORT, bad, AAD, verifier));
        assertThrows(VaultIntegrityException.class,
                () -> Vault.open(file).unlockWithSealedKey(TRANSPORT, sealed, "other".getBytes(), verifier));
    }
}

package dev.brokerctl.vault;

import dev.brokerctl.vault.crypto.KdfParams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Shared fixtures: light KDF parameters (the KDF itself is tested elsewhere) and canaries. */
final class TestVaults {

    static final KdfParams LIGHT = KdfParams.insecureForTests(256, 1, 1);
    static final String PASSPHRASE = "correct horse battery staple";

    private TestVaults() {
    }

    static char[] pass() {
        return PASSPHRASE.toCharArray();
    }

    static Path create(Path dir) throws VaultException {
        Path file = dir.resolve("home").resolve("vault.db");
        Vault.create(file, pass(), LIGHT);
        return file;
    }

    static VaultSession unlock(Path file) throws VaultException {
        return Vault.open(file).unlock(pass());
    }

    static SecretValue value(String s) {
        return SecretValue.adopt(s.getBytes(StandardCharsets.UTF_8));
    }

    static String reveal(ResolvedValues values, String name) {
        return new String(values.get(name).revealBytes(), StandardCharsets.UTF_8);
    }
}

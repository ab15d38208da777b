package dev.brokerctl.vault.audit;

import dev.brokerctl.vault.SecretValue;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultException;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.crypto.KdfParams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Vault fixtures for the audit tests (TestVaults is package-private in dev.brokerctl.vault). */
final class AuditFixtures {

    static final KdfParams LIGHT = KdfParams.insecureForTests(256, 1, 1);
    static final String PASSPHRASE = "correct horse battery staple";

    private AuditFixtures() {
    }

    static Path create(Path dir) throws VaultException {
        Path file = dir.resolve("home").resolve("vault.db");
        Vault.create(file, PASSPHRASE.toCharArray(), LIGHT);
        return file;
    }

    static VaultSession unlock(Path file) throws VaultException {
        return Vault.open(file).unlock(PASSPHRASE.toCharArray());
    }

    static SecretValue value(String s) {
        return SecretValue.adopt(s.getBytes(StandardCharsets.UTF_8));
    }
}

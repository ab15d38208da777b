package dev.brokerctl.cli;

import dev.brokerctl.vault.ApproverKeys;
import dev.brokerctl.vault.Vault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * Test support for the Node end-to-end suite (mcp-e2e/lib/approver.js), which plays an approver
 * console over the raw protocol but cannot open the vault's keyslot itself (SQLite, Argon2id):
 * prints the approver key of {@code VAULT} (hex) for the passphrase in the file
 * {@code PASSPHRASE_FILE}. Lives in test classes only, never in the shipped jar: the product has
 * no command that prints a key.
 *
 * <p>{@code java -cp cli/target/test-classes:cli/target/brokerctl.jar dev.brokerctl.cli.ApproverKeyForTests VAULT PASSPHRASE_FILE}
 */
public final class ApproverKeyForTests {

    private ApproverKeyForTests() {
    }

    public static void main(String[] args) throws Exception {
        char[] passphrase = Files.readAllLines(Path.of(args[1])).get(0).toCharArray();
        try (ApproverKeys k = Vault.open(Path.of(args[0])).approverKeys(passphrase)) {
            byte[] key = k.approverKey();
            System.out.println(HexFormat.of().formatHex(key));
            java.util.Arrays.fill(key, (byte) 0);
        }
    }
}

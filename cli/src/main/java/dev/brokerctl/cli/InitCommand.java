package dev.brokerctl.cli;

import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.crypto.KdfParams;
import java.util.Arrays;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "init", description = "Create the encrypted vault in the brokerctl home.")
final class InitCommand extends VaultCommand {

    @Option(names = "--kdf-memory-mib", paramLabel = "N",
            description = "Argon2id memory cost in MiB (default: ${DEFAULT-VALUE}).", defaultValue = "64")
    int memoryMib;

    @Override
    public Integer call() throws Exception {
        if (memoryMib < KdfParams.MIN_MEMORY_KIB / 1024 || memoryMib > KdfParams.MAX_MEMORY_KIB / 1024) {
            throw new CliException("--kdf-memory-mib must be between " + KdfParams.MIN_MEMORY_KIB / 1024
                    + " (OWASP's minimum for Argon2id) and " + KdfParams.MAX_MEMORY_KIB / 1024
                    + "; the default is 64", ExitCodes.USAGE);
        }
        KdfParams params = KdfParams.withMemoryMib(memoryMib);
        char[] passphrase = terminal.newPassphrase(Terminal.PASSPHRASE_FILE, "New vault passphrase: ");
        try {
            Vault.create(paths().vaultFile(), passphrase, params);
        } finally {
            Arrays.fill(passphrase, '\0');
        }
        out().printf("created vault %s (Argon2id m=%d MiB, t=%d, p=%d)%n", paths().vaultFile(),
                memoryMib, params.iterations(), params.parallelism());
        out().println("next: brokerctl env create dev");
        return ExitCodes.OK;
    }
}

package dev.brokerctl.cli;

import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultException;
import dev.brokerctl.vault.VaultSession;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/** Base of the commands that open the vault directly with the passphrase. */
abstract class VaultCommand implements Callable<Integer>, HoldsSecrets {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    Terminal terminal = Terminal.system();

    BrokerPaths paths() {
        return BrokerPaths.fromEnvironment();
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Opens the vault and asks for the passphrase only if the vault exists and is readable. */
    VaultSession unlock() throws VaultException, CliException {
        return unlock(Vault.open(paths().vaultFile()));
    }

    /** Asks for the passphrase and unlocks {@code vault}; closes it on failure. */
    VaultSession unlock(Vault vault) throws VaultException, CliException {
        try {
            char[] passphrase = terminal.passphrase("Vault passphrase: ");
            try {
                return vault.unlock(passphrase);
            } finally {
                Arrays.fill(passphrase, '\0');
            }
        } catch (VaultException | CliException | RuntimeException e) {
            vault.close();
            throw e;
        }
    }
}

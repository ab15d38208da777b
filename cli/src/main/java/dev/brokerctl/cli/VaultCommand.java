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
    VaultSession unlock() throws Exception {
        return unlock(Vault.open(paths().vaultFile()));
    }

    /**
     * Asks for the passphrase and unlocks {@code vault}; closes it on failure. A wrong passphrase
     * typed at the terminal is asked for again (the vault file opened again: a failed unlock
     * closes it), {@value Terminal#TRIES} tries in all.
     */
    VaultSession unlock(Vault vault) throws Exception {
        Vault[] next = {vault};
        try {
            return terminal.withPassphrase("Vault passphrase: ", err(), passphrase -> {
                Vault v = next[0] != null ? next[0] : Vault.open(paths().vaultFile());
                next[0] = null;
                return v.unlock(passphrase);
            });
        } catch (Exception e) {
            if (next[0] != null) {
                next[0].close();
            }
            throw e;
        }
    }
}

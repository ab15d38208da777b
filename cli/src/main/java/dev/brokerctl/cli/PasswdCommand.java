package dev.brokerctl.cli;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.DaemonUnavailableException;
import dev.brokerctl.vault.StateMark;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultIntegrityException;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import dev.brokerctl.vault.crypto.KdfParams;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "passwd", description = {
    "Change the vault passphrase. Without --rekey only the vault key is re-wrapped: whoever saved the old"
        + " keyslot and knows the old passphrase still has the key. With --rekey the vault key is replaced and"
        + " every item re-sealed (no daemon may run).",
    "Scripts give the new passphrase in the file named by BROKERCTL_NEW_PASSPHRASE_FILE."})
final class PasswdCommand extends VaultCommand {

    @Option(names = "--rekey", description = "Replace the vault key too: every item re-sealed under a new key in one"
            + " transaction, the old keyslot gone. Stop the daemon first.")
    boolean rekey;

    @Override
    public Integer call() throws Exception {
        BrokerPaths paths = paths();
        if (rekey) {
            try (BrokerClient c = DaemonClient.connect(paths, "passwd --rekey")) {
                throw new CliException("a daemon is running on " + paths.socket() + " and holds the current vault"
                        + " key; stop it first (brokerctl stop), then run brokerctl passwd --rekey again");
            } catch (DaemonUnavailableException e) {
                // no daemon: go on
            }
        }
        Vault vault = Vault.open(paths.vaultFile());
        // a vault made with a weaker KDF than the floor gets the floor with its new keyslot
        KdfParams params = vault.kdfParams().atLeastFloor();
        String what;
        boolean checkpointed;
        try (VaultSession s = unlock(vault)) {
            char[] fresh = terminal.newPassphrase(Terminal.NEW_PASSPHRASE_FILE, "New passphrase: ");
            try {
                if (rekey) {
                    Path mark = StateMark.pathFor(paths.vaultFile());
                    OptionalLong before;
                    try {
                        before = StateMark.read(mark, s);
                    } catch (VaultIntegrityException e) {
                        before = OptionalLong.empty();   // a damaged mark is replaced by the current state
                    }
                    int items = s.rekey(fresh, params, AuditRecord.of(AuditEvent.VAULT_REKEYED, null,
                            AuditDetails.of(AuditDetails.SOURCE, "cli")));
                    // the mark is MACed under the vault key: carried over to the new one
                    StateMark.write(mark, s, Math.max(before.orElse(0), s.stateCounter()));
                    what = "passphrase changed and vault key replaced: " + items + " items re-sealed under the new"
                            + " key, the old keyslot is gone";
                } else {
                    s.changePassphrase(fresh, params, AuditRecord.of(AuditEvent.PASSPHRASE_CHANGED, null,
                            AuditDetails.of(AuditDetails.SOURCE, "cli")));
                    what = "passphrase changed (the vault key was re-wrapped, not replaced; brokerctl passwd --rekey"
                            + " replaces it)";
                }
            } finally {
                Arrays.fill(fresh, '\0');
            }
            checkpointed = s.checkpoint();
        }
        out().println(what);
        out().println(checkpointed
                ? "write-ahead log checkpointed and emptied: no copy of the old keyslot is left in vault.db-wal"
                : "write-ahead log not fully checkpointed (another process was reading the vault): the old keyslot"
                        + " may remain in vault.db-wal until the next checkpoint; run brokerctl passwd again later"
                        + " or stop the daemon");
        return ExitCodes.OK;
    }
}

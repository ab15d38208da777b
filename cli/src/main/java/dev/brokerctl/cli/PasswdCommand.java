package dev.brokerctl.cli;

import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import dev.brokerctl.vault.crypto.KdfParams;
import java.util.Arrays;
import picocli.CommandLine.Command;

@Command(name = "passwd", description = {
    "Change the vault passphrase. Only the vault key is re-wrapped; data is not re-encrypted.",
    "Scripts give the new passphrase in the file named by BROKERCTL_NEW_PASSPHRASE_FILE."})
final class PasswdCommand extends VaultCommand {

    @Override
    public Integer call() throws Exception {
        Vault vault = Vault.open(paths().vaultFile());
        // a vault made with a weaker KDF than the floor gets the floor with its new keyslot
        KdfParams params = vault.kdfParams().atLeastFloor();
        try (VaultSession s = unlock(vault)) {
            char[] fresh = terminal.newPassphrase(Terminal.NEW_PASSPHRASE_FILE, "New passphrase: ");
            try {
                s.changePassphrase(fresh, params, AuditRecord.of(AuditEvent.PASSPHRASE_CHANGED, null,
                        AuditDetails.of(AuditDetails.SOURCE, "cli")));
            } finally {
                Arrays.fill(fresh, '\0');
            }
        }
        out().println("passphrase changed");
        return ExitCodes.OK;
    }
}

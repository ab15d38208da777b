package dev.brokerctl.cli;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.DaemonUnavailableException;
import dev.brokerctl.vault.StateMark;
import dev.brokerctl.vault.VaultIntegrityException;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * {@code brokerctl doctor --accept-rollback}: accepts, on purpose, a vault that is behind its
 * rollback mark (a backup restored): with the passphrase, records the acceptance in the vault's
 * audit log and sets the mark to the vault's state. Refused while a daemon runs: the daemon keeps
 * the highest state it saw in memory too, and is the one to stop first.
 */
final class AcceptRollbackCommand extends VaultCommand {

    @Override
    public Integer call() throws Exception {
        BrokerPaths paths = paths();
        try (BrokerClient c = DaemonClient.connect(paths, "doctor --accept-rollback")) {
            throw new CliException("a daemon is running on " + paths.socket() + "; it remembers the vault's"
                    + " newest state itself. Stop it first (brokerctl stop), then run brokerctl doctor"
                    + " --accept-rollback again");
        } catch (DaemonUnavailableException e) {
            // no daemon: go on
        }
        Path mark = StateMark.pathFor(paths.vaultFile());
        try (VaultSession s = unlock()) {
            String previous;
            try {
                OptionalLong m = StateMark.read(mark, s);
                previous = m.isPresent() ? Long.toString(m.getAsLong()) : "none";
            } catch (VaultIntegrityException e) {
                previous = "damaged";
            }
            long counter = s.stateCounter();
            s.audit(AuditEvent.ROLLBACK_ACCEPTED, null, AuditDetails.of(AuditDetails.PREVIOUS, previous,
                    "counter", counter, AuditDetails.SOURCE, "cli"));
            long now = s.stateCounter();
            StateMark.write(mark, s, now);
            out().println("accepted the vault at state " + counter + " (the rollback mark said " + previous
                    + "); recorded in the audit log, and the mark now says " + now);
        }
        return ExitCodes.OK;
    }
}

package dev.brokerctl.cli;

import dev.brokerctl.vault.Names;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "unset", description = "Delete a variable.")
final class UnsetCommand extends VaultCommand {

    @Parameters(index = "0", paramLabel = "ENV")
    String environment;

    @Parameters(index = "1", paramLabel = "NAME")
    String name;

    @Override
    public Integer call() throws Exception {
        Names.checkEnvironment(environment);
        Names.checkVariable(name);
        try (VaultSession s = unlock()) {
            s.delete(environment, name, AuditRecord.of(AuditEvent.VARIABLE_UNSET, environment,
                    AuditDetails.of(AuditDetails.VARIABLE, name, AuditDetails.SOURCE, "cli")));
        }
        out().printf("unset %s in %s%n", name, environment);
        return ExitCodes.OK;
    }
}

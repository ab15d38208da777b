package dev.brokerctl.cli;

import dev.brokerctl.vault.Names;
import dev.brokerctl.vault.SecretValue;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "set", description = {
    "Store a variable's value. On a terminal the value is read without echo; otherwise all of",
    "standard input is the value (one trailing newline of a single-line value is dropped):",
    "  printf %s \"$V\" | brokerctl set dev TOKEN",
    "The value is never taken from an argument, where ps and shell history would see it."})
final class SetCommand extends VaultCommand {

    @Parameters(index = "0", paramLabel = "ENV")
    String environment;

    @Parameters(index = "1", paramLabel = "NAME")
    String name;

    @Option(names = "--description", paramLabel = "TEXT",
            description = "What the variable is for; agents see it (never the value).")
    String description;

    @Override
    public Integer call() throws Exception {
        Names.checkEnvironment(environment);
        Names.checkVariable(name);
        try (VaultSession s = unlock()) {
            s.environment(environment);   // fail before asking for the value
            try (SecretValue value = SecretValue.adopt(
                    terminal.secretValue("Value for " + name + ": ", SecretValue.MAX_BYTES))) {
                s.put(environment, name, value, description, AuditRecord.of(AuditEvent.VARIABLE_SET,
                        environment, AuditDetails.of(AuditDetails.VARIABLE, name, AuditDetails.SOURCE, "cli")));
                out().printf("set %s in %s (%d bytes)%n", name, environment, value.length());
                if (value.length() < 4) {
                    err().printf("brokerctl: warning: values shorter than 4 bytes are not masked in"
                            + " command output%n");
                }
            }
        }
        return ExitCodes.OK;
    }
}

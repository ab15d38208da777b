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
    "Store a variable's value.",
    "On a terminal the value is read without echo; otherwise all of standard input is the value"
        + " (one trailing newline of a single-line value is dropped):",
    "  " + SetCommand.PIPE_IT_IN,
    "The value is never taken from an argument, where ps and shell history would see it."
        + " An empty value is refused unless --allow-empty is given."})
final class SetCommand extends VaultCommand {

    /** How to give a value; {@code %%} because picocli formats descriptions. */
    static final String PIPE_IT_IN = "printf %%s \"$V\" | brokerctl set dev TOKEN";

    @Parameters(index = "0", paramLabel = "ENV")
    String environment;

    @Parameters(index = "1", paramLabel = "NAME")
    String name;

    @Option(names = "--description", paramLabel = "TEXT",
            description = "What the variable is for; agents see it (never the value).")
    String description;

    @Option(names = "--allow-empty", description = "Store an empty value (refused otherwise, as a"
            + " mistake such as an unset variable piped in).")
    boolean allowEmpty;

    /** Caught to say why values are never arguments, instead of picocli's "Unmatched argument". */
    @Parameters(index = "2..*", arity = "0..*", hidden = true)
    String[] value;

    @Override
    public Integer call() throws Exception {
        if (value != null && value.length > 0) {
            throw new CliException("values are never taken from arguments (they end up in shell"
                    + " history and `ps`); pipe it in: " + PIPE_IT_IN.replace("%%", "%"), ExitCodes.USAGE);
        }
        Names.checkEnvironment(environment);
        Names.checkVariable(name);
        try (VaultSession s = unlock()) {
            s.environment(environment);   // fail before asking for the value
            try (SecretValue value = SecretValue.adopt(
                    terminal.secretValue("Value for " + name + ": ", SecretValue.MAX_BYTES))) {
                if (value.length() == 0 && !allowEmpty) {
                    throw new CliException(terminal.stdinIsTerminal()
                            ? "the value is empty; nothing was stored (to store an empty value: --allow-empty)"
                            : "stdin is empty; nothing was stored. Pipe the value in: "
                                    + PIPE_IT_IN.replace("%%", "%") + " (to store an empty value: --allow-empty)");
                }
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

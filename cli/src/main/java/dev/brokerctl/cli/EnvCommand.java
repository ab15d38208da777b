package dev.brokerctl.cli;

import dev.brokerctl.vault.EnvironmentInfo;
import dev.brokerctl.vault.Listing;
import dev.brokerctl.vault.Policy;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "env", description = "Create, list and delete environments.",
        subcommands = {EnvCommand.Create.class, EnvCommand.ListEnvironments.class, EnvCommand.Delete.class,
            EnvCommand.SetPolicy.class})
final class EnvCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "env needs a subcommand: create, list, delete or policy");
    }

    @Command(name = "create", description = "Create an environment.")
    static final class Create extends VaultCommand {
        @Parameters(paramLabel = "NAME", description = "Environment name: a-z, 0-9, '_' and '-'.")
        String name;

        @Option(names = "--policy", paramLabel = "prompt|auto", defaultValue = "prompt",
                description = "prompt: every run waits for a human (default); auto: runs start at once.")
        String policy;

        @Override
        public Integer call() throws Exception {
            Policy p = Policy.parse(policy);
            dev.brokerctl.vault.Names.checkEnvironment(name);
            try (VaultSession s = unlock()) {
                s.createEnvironment(name, p, AuditRecord.of(AuditEvent.ENVIRONMENT_CREATED, name,
                        AuditDetails.of(AuditDetails.POLICY, p.id(), AuditDetails.SOURCE, "cli")));
            }
            out().printf("created environment %s (policy %s)%n", name, p.id());
            return ExitCodes.OK;
        }
    }

    @Command(name = "list", description = {"List environments with their policy and variable count.",
        "With an unlocked daemon running they come from it, without the passphrase; else the vault is opened here."})
    static final class ListEnvironments extends VaultCommand {
        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Option(names = "--from-vault", description = "Open the vault with the passphrase instead of asking the"
                + " running daemon.")
        boolean fromVault;

        @Override
        public Integer call() throws Exception {
            Listing<EnvironmentInfo> listing;
            DaemonListing daemon = fromVault ? null : DaemonListing.open(paths(), "env list");
            if (daemon != null) {
                try (daemon) {
                    listing = daemon.environments();   // names only, no passphrase: see ListCommand
                }
            } else {
                try (VaultSession s = unlock()) {
                    listing = s.listEnvironments();
                }
            }
            if (json) {
                Json.environments(out(), listing);
            } else if (listing.items().isEmpty() && listing.damaged().isEmpty()) {
                out().println("no environments; create one with: brokerctl env create dev");
            } else {
                Table t = new Table("NAME", "POLICY", "VARIABLES");
                for (EnvironmentInfo e : listing.items()) {
                    t.row(e.name(), e.policy().id(), Integer.toString(e.variableCount()));
                }
                t.print(out());
            }
            return Damage.report(err(), listing.damaged());
        }
    }

    @Command(name = "delete", description = "Delete an environment and all its variables.")
    static final class Delete extends VaultCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--yes", description = "Do not ask for confirmation.")
        boolean yes;

        @Override
        public Integer call() throws Exception {
            dev.brokerctl.vault.Names.checkEnvironment(name);
            try (VaultSession s = unlock()) {
                EnvironmentInfo info = s.environment(name);
                if (!yes) {
                    if (!terminal.stdinIsTerminal()) {
                        throw new CliException("refusing to delete environment '" + name
                                + "' without confirmation; pass --yes", ExitCodes.USAGE);
                    }
                    if (!terminal.confirm("Delete environment '" + name + "' and its "
                            + ListCommand.variables(info.variableCount()) + "?")) {
                        out().println("nothing deleted");
                        return ExitCodes.FAILURE;
                    }
                }
                int count = s.deleteEnvironment(name, n -> AuditRecord.of(AuditEvent.ENVIRONMENT_DELETED, name,
                        AuditDetails.of(AuditDetails.VARIABLE_COUNT, n, AuditDetails.SOURCE, "cli")));
                out().printf("deleted environment %s and %s%n", name, ListCommand.variables(count));
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "policy", description = {
        "Change an environment's approval policy (prompt or auto) and its longest grant.",
        "Needs the passphrase: the policy lives encrypted in the vault, so editing files cannot change it."})
    static final class SetPolicy extends VaultCommand {
        @Parameters(index = "0", paramLabel = "ENV")
        String name;

        @Parameters(index = "1", paramLabel = "prompt|auto")
        String policy;

        @Option(names = "--max-grant", paramLabel = "DURATION",
                description = "Longest grant a human may give for this environment (at most 8h).")
        String maxGrant;

        @Option(names = "--run-profile", paramLabel = "sandbox|host", defaultValue = "sandbox",
                description = "What approved commands of this environment see of the file system: sandbox (the default:"
                        + " shell start-up files, hooks and agents' settings read-only, the broker home and credential"
                        + " stores hidden) or host (all of it, as the user). Consoles show host as a risk.")
        String runProfile;

        @Override
        public Integer call() throws Exception {
            dev.brokerctl.vault.Names.checkEnvironment(name);
            Policy p = Policy.parse(policy);
            if (!runProfile.equals("sandbox") && !runProfile.equals("host")) {
                throw new CliException("--run-profile must be sandbox or host", ExitCodes.USAGE);
            }
            boolean host = runProfile.equals("host");
            java.time.Duration max = null;
            if (maxGrant != null) {
                max = dev.brokerctl.protocol.Durations.parse(maxGrant);
                if (max.isZero() || max.compareTo(java.time.Duration.ofHours(8)) > 0) {
                    throw new CliException("--max-grant must be between 1s and 8h", ExitCodes.USAGE);
                }
            }
            try (VaultSession s = unlock()) {
                EnvironmentInfo before = s.environment(name);
                s.setPolicy(name, p, max, host, AuditRecord.of(AuditEvent.POLICY_CHANGED, name, AuditDetails.of(
                        AuditDetails.POLICY,
                        p.id() + (max == null ? "" : ", max grant " + dev.brokerctl.protocol.Durations.format(max))
                                + ", run profile " + runProfile,
                        AuditDetails.PREVIOUS, before.policy().id(), AuditDetails.SOURCE, "cli")));
            }
            out().printf("environment %s: policy %s%s, run profile %s%n", name, p.id(),
                    max == null ? "" : ", grants up to " + dev.brokerctl.protocol.Durations.format(max), runProfile);
            return ExitCodes.OK;
        }
    }
}

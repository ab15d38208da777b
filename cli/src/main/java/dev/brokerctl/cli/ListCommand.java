package dev.brokerctl.cli;

import dev.brokerctl.vault.EnvironmentInfo;
import dev.brokerctl.vault.Listing;
import dev.brokerctl.vault.Names;
import dev.brokerctl.vault.VariableInfo;
import dev.brokerctl.vault.VaultSession;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Names, descriptions and update times. With an unlocked daemon running, they come from it and
 * no passphrase is asked: names are what any process of this user (an agent through MCP) can ask
 * the daemon for already, and no value ever comes this way. Without one, the vault is opened here.
 */
@Command(name = "list", description = {"List variable names, descriptions and update times; never values.",
    "With an unlocked daemon running the names come from it, without the passphrase; else the vault is opened here."})
final class ListCommand extends VaultCommand {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm'Z'").withZone(ZoneOffset.UTC);

    @Parameters(arity = "0..1", paramLabel = "ENV", description = "Only this environment.")
    String environment;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Option(names = "--from-vault", description = "Open the vault with the passphrase instead of asking the"
            + " running daemon.")
    boolean fromVault;

    @Override
    public Integer call() throws Exception {
        if (environment != null) {
            Names.checkEnvironment(environment);
        }
        Map<EnvironmentInfo, Listing<VariableInfo>> result = new LinkedHashMap<>();
        List<String> damaged = new ArrayList<>();
        DaemonListing daemon = fromVault ? null : DaemonListing.open(paths(), "list");
        if (daemon != null) {
            // names only, from the running unlocked daemon: no passphrase (see the class comment)
            try (daemon) {
                List<EnvironmentInfo> environments = new ArrayList<>();
                Listing<EnvironmentInfo> all = daemon.environments();
                for (EnvironmentInfo e : all.items()) {
                    if (environment == null || e.name().equals(environment)) {
                        environments.add(e);
                    }
                }
                if (environment == null) {
                    damaged.addAll(all.damaged());
                } else if (environments.isEmpty()) {
                    daemon.variables(environment);   // the daemon's own "does not exist" message
                }
                for (EnvironmentInfo e : environments) {
                    Listing<VariableInfo> vars = daemon.variables(e.name());
                    result.put(e, vars);
                    damaged.addAll(vars.damaged());
                }
            }
        } else {
            try (VaultSession s = unlock()) {
                List<EnvironmentInfo> environments;
                if (environment != null) {
                    environments = List.of(s.environment(environment));
                } else {
                    Listing<EnvironmentInfo> all = s.listEnvironments();
                    environments = all.items();
                    damaged.addAll(all.damaged());
                }
                for (EnvironmentInfo e : environments) {
                    Listing<VariableInfo> vars = s.listVariables(e.name());
                    result.put(e, vars);
                    damaged.addAll(vars.damaged());
                }
            }
        }
        if (json) {
            Json.variables(out(), result, damaged);
        } else if (result.isEmpty() && damaged.isEmpty()) {
            out().println("no environments; create one with: brokerctl env create dev");
        } else {
            boolean first = true;
            for (Map.Entry<EnvironmentInfo, Listing<VariableInfo>> e : result.entrySet()) {
                if (!first) {
                    out().println();
                }
                first = false;
                EnvironmentInfo env = e.getKey();
                out().printf("%s (policy %s, %s)%n", env.name(), env.policy().id(),
                        variables(env.variableCount()));
                if (e.getValue().items().isEmpty()) {
                    continue;
                }
                Table t = new Table("  NAME", "UPDATED", "DESCRIPTION");
                for (VariableInfo v : e.getValue().items()) {
                    t.row("  " + v.name(), TIME.format(v.updatedAt().truncatedTo(ChronoUnit.MINUTES)),
                            v.description());
                }
                t.print(out());
            }
            out().flush();
        }
        return Damage.report(err(), damaged);
    }

    /** "1 variable", "2 variables". */
    static String variables(long n) {
        return n + (n == 1 ? " variable" : " variables");
    }
}

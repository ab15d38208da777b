package dev.brokerctl.cli;

import dev.brokerctl.approval.Quoting;
import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.Message;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "grants", description = "List live grants (requests a human allowed for a while).",
        subcommands = GrantsCommand.Revoke.class)
final class GrantsCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** To the second, as {@code brokerctl audit} prints times. */
    private static final java.time.format.DateTimeFormatter TIME = java.time.format.DateTimeFormatter
            .ofPattern("yyyy-MM-dd HH:mm:ss'Z'").withZone(java.time.ZoneOffset.UTC);

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (BrokerClient c = DaemonClient.connect(BrokerPaths.fromEnvironment(), "grants")) {
            java.util.List<Message> grants = c.call(Message.of("grants_list")).messages("grants");
            if (json) {
                Json.grants(spec.commandLine().getOut(), grants);
                return ExitCodes.OK;
            }
            if (grants.isEmpty()) {
                spec.commandLine().getOut().println("no live grants");
            }
            for (Message g : grants) {
                spec.commandLine().getOut().printf("%d  %s  until %s  by %s%n    %s%n    cwd %s%n",
                        g.number("grant_id", -1), g.string("environment", ""), toSecond(g.string("expires_at", "")),
                        g.string("granted_by", ""), Quoting.argv(g.strings("argv")), Quoting.word(g.string("cwd", "")));
            }
            spec.commandLine().getOut().flush();
        }
        return ExitCodes.OK;
    }

    static String toSecond(String instant) {
        try {
            return TIME.format(java.time.Instant.parse(instant));
        } catch (java.time.format.DateTimeParseException e) {
            return instant;
        }
    }

    @Command(name = "revoke", description = "Revoke a grant by id, or all of them.")
    static final class Revoke implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(arity = "0..1", paramLabel = "ID")
        Long id;

        @Option(names = "--all", description = "Revoke every live grant.")
        boolean all;

        @Override
        public Integer call() throws Exception {
            if ((id == null) == !all) {
                throw new CliException("give a grant ID or --all", ExitCodes.USAGE);
            }
            try (BrokerClient c = DaemonClient.connect(BrokerPaths.fromEnvironment(), "grants revoke")) {
                Message reply = c.call(all ? Message.of("grants_revoke").with("all", true)
                        : Message.of("grants_revoke").with("grant_id", id));
                spec.commandLine().getOut().println("revoked " + reply.number("revoked", 0) + " grant(s)");
            }
            return ExitCodes.OK;
        }
    }
}

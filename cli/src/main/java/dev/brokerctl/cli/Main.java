package dev.brokerctl.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code brokerctl}: a local secrets broker for coding agents. */
@Command(name = "brokerctl",
        mixinStandardHelpOptions = true,
        scope = CommandLine.ScopeType.INHERIT,   // --help and --version on every subcommand too
        versionProvider = Main.Version.class,
        description = "A local secrets broker for coding agents: values stay in an encrypted vault"
                + " and are injected into approved commands.",
        subcommands = {
            InitCommand.class,
            EnvCommand.class,
            SetCommand.class,
            UnsetCommand.class,
            ListCommand.class,
            ImportCommand.class,
            PasswdCommand.class,
            DaemonCommand.class,
            DaemonControlCommands.Status.class,
            DaemonControlCommands.Unlock.class,
            DaemonControlCommands.Lock.class,
            DaemonControlCommands.Stop.class,
            RunCommand.class,
            ApproveCommand.class,
            GrantsCommand.class,
            AuditCommand.class,
            McpCommand.class,
            DoctorCommand.class,
            SandboxCommand.class,
            DemoCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("run")) {
            Integer fast = RunMain.fastRun(args);
            if (fast != null) {
                System.exit(fast);
            }
        }
        System.exit(execute(args));
    }

    static CommandLine commandLine() {
        return new CommandLine(new Main())
                .setExecutionStrategy(Main::executeHardened)
                .setExecutionExceptionHandler(new ExitCodes())
                .setParameterExceptionHandler(Main::usageError);
    }

    static int execute(String... args) {
        return commandLine().execute(args);
    }

    /**
     * Runs the chosen command as picocli's default strategy does, after making the process
     * non-dumpable if the command {@link HoldsSecrets}: before its {@code call()} reads anything.
     */
    private static int executeHardened(CommandLine.ParseResult parsed) {
        Integer help = CommandLine.executeHelpRequest(parsed);
        if (help != null) {
            return help;
        }
        java.util.List<CommandLine> chosen = parsed.asCommandLineList();
        CommandLine command = chosen.get(chosen.size() - 1);
        if (command.getCommand() instanceof HoldsSecrets) {
            HoldsSecrets.harden(command.getErr());
        }
        return new CommandLine.RunLast().execute(parsed);
    }

    /** A usage error: two lines (what is wrong, where to look), exit code 2. */
    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        cmd.getErr().println("brokerctl: " + e.getMessage());
        cmd.getErr().println("see: " + cmd.getCommandSpec().qualifiedName() + " --help");
        cmd.getErr().flush();
        return ExitCodes.USAGE;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {RunMain.version()};
        }
    }
}

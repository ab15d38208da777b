package dev.brokerctl.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code brokerctl}: a local secrets broker for coding agents. */
@Command(name = "brokerctl",
        mixinStandardHelpOptions = true,
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
            Integer fast = fastRun(args);
            if (fast != null) {
                System.exit(fast);
            }
        }
        System.exit(execute(args));
    }

    /** The hot path; failures are reported the way {@link ExitCodes} would. */
    private static Integer fastRun(String[] args) {
        try {
            return RunCommand.fast(args);
        } catch (CliException e) {
            System.err.println("brokerctl: " + e.getMessage());
            return e.exitCode();
        } catch (IllegalArgumentException e) {
            System.err.println("brokerctl: " + e.getMessage());
            return ExitCodes.USAGE;
        } catch (Exception e) {
            System.err.println("brokerctl: " + e.getMessage());
            return RunClient.BROKER_FAILED;
        }
    }

    static CommandLine commandLine() {
        return new CommandLine(new Main())
                .setExecutionExceptionHandler(new ExitCodes())
                .setParameterExceptionHandler(Main::usageError);
    }

    static int execute(String... args) {
        return commandLine().execute(args);
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
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"brokerctl " + (v == null ? "dev" : v)};
        }
    }
}

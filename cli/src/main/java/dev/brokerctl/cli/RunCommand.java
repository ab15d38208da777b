package dev.brokerctl.cli;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.DaemonUnavailableException;
import dev.brokerctl.protocol.Durations;
import dev.brokerctl.protocol.Message;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "run", description = {
    "Run a command with an environment's variables injected, through the daemon.",
    "The command starts from argv (no shell is added), in this directory, with this environment"
        + " plus the injected values; its output comes back masked.",
    "Exit code: the command's, 128+N for signal N, 123 the daemon stopped during the run,"
        + " 124 timeout, 125 broker failure, 126 not executable, 127 not found, 1 denied."})
final class RunCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--env", required = true, paramLabel = "ENV", description = "Environment to inject: 1-63 characters of a-z, 0-9, '_' and '-'.")
    String environment;

    @Option(names = "--only", split = ",", paramLabel = "A,B", description = "Inject only these variables (with --env-file: these as well as its references).")
    List<String> only;

    @Option(names = "--env-file", paramLabel = "FILE", description = "A dotenv template:"
            + " NAME=broker://ENV/VARIABLE lines inject that vault variable as NAME, other lines are plain values."
            + " Without --only, only the referenced variables are injected, not all of ENV's."
            + " A plain line wins over the vault for its name. A malformed broker: reference is an error"
            + " naming its line.")
    Path envFile;

    @Option(names = "--no-masking", description = "Do not mask values in the output.")
    boolean noMasking;

    @Option(names = "--timeout", paramLabel = "DURATION", description = "Kill the command after this long (e.g. 90s, 10m).")
    String timeout;

    @Option(names = "--reason", paramLabel = "TEXT", description = "Why this run is needed (shown to the approver).")
    String reason;

    @Parameters(paramLabel = "CMD", arity = "1..*", description = "The command and its arguments, after --.")
    List<String> command;

    /**
     * {@code brokerctl run} without picocli: picocli's model of every subcommand costs more start-up
     * than the whole run otherwise takes. Returns null when the arguments need picocli (help, an
     * unknown or malformed option), which then parses them and reports usage errors.
     */
    static Integer fast(String[] args) throws Exception {
        RunCommand c = new RunCommand();
        int i = 1;
        for (; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            String name = a.startsWith("--") && eq > 0 ? a.substring(0, eq) : a;
            boolean takesValue = switch (name) {
                case "--env", "--only", "--env-file", "--timeout", "--reason" -> true;
                default -> false;
            };
            if (takesValue) {
                if (eq > 0 && a.startsWith("--")) {
                    value = a.substring(eq + 1);
                } else if (i + 1 < args.length) {
                    value = args[++i];
                } else {
                    return null;
                }
            }
            switch (name) {
                case "--env" -> c.environment = value;
                case "--only" -> c.only = List.of(value.split(","));
                case "--env-file" -> c.envFile = Path.of(value);
                case "--timeout" -> c.timeout = value;
                case "--reason" -> c.reason = value;
                case "--no-masking" -> c.noMasking = true;
                case "--" -> {
                    c.command = List.of(Arrays.copyOfRange(args, i + 1, args.length));
                    return c.environment == null || c.command.isEmpty() ? null : c.call();
                }
                default -> {
                    return null;
                }
            }
        }
        return null;
    }

    @Override
    public Integer call() throws Exception {
        return execute(BrokerPaths.fromEnvironment(), System.getenv(),
                new FileOutputStream(FileDescriptor.out), new FileOutputStream(FileDescriptor.err),
                new FileInputStream(FileDescriptor.in), true);
    }

    /**
     * The run itself, with its surroundings passed in so that {@code brokerctl demo} goes through
     * exactly this path (and the AppCDS archive, trained on the demo, covers it).
     */
    int execute(BrokerPaths paths, Map<String, String> environment, OutputStream out, OutputStream err,
            InputStream stdin, boolean forwardSignals) throws Exception {
        PrintStream notes = new PrintStream(err, true, StandardCharsets.UTF_8);
        if (!dev.brokerctl.vault.dotenv.BrokerReference.isEnvironment(this.environment)) {
            String shown = this.environment.chars().allMatch(c -> c >= 0x20 && c < 0x7f) && this.environment.length() <= 63
                    ? "'" + this.environment + "'" : "given";
            throw new CliException("the environment name " + shown + " is not valid: use 1-63 characters of a-z,"
                    + " 0-9, '_' and '-', starting with a letter or digit (environments are lower case)", ExitCodes.USAGE);
        }
        long timeoutMs = 0;
        if (timeout != null) {
            timeoutMs = Durations.parse(timeout).toMillis();
        }
        Map<String, String> env = new LinkedHashMap<>(environment);
        List<Object> refs = new ArrayList<>();
        List<String> variables = only;
        if (envFile != null) {
            List<String> plain = readTemplate(envFile, env, refs);
            // the file decides: its references (and --only), never all of ENV; its plain lines win
            variables = new ArrayList<>(only == null ? List.of() : only);
            for (String name : plain) {
                if (variables.remove(name)) {
                    notes.println("brokerctl: " + name + " comes from " + envFile + " (a plain line), not from the vault");
                }
            }
        }
        Message request = Message.of("run").with("environment", this.environment).with("argv", command)
                .with("cwd", Path.of("").toAbsolutePath().toString()).with("env", env)
                .with("variables", variables).with("refs", refs).with("reason", reason == null ? "" : reason)
                .with("timeout_ms", timeoutMs).with("masking", !noMasking).with("stdin", stdin != null);
        BrokerClient client;
        try {
            client = DaemonClient.connect(paths, "run");
        } catch (DaemonUnavailableException e) {
            notes.println("brokerctl: " + e.getMessage());
            return RunClient.BROKER_FAILED;
        }
        try (client) {
            RunClient run = new RunClient(client, out, err, notes);
            if (forwardSignals) {
                Signals.forward(run);
            }
            return run.run(request, stdin);
        } catch (BrokerException e) {
            notes.println("brokerctl: " + e.getMessage());
            return RunClient.BROKER_FAILED;
        }
    }

    /**
     * Template lines: NAME=broker://ENV/VARIABLE becomes a reference, other lines go into
     * {@code env}. Returns the names of the plain lines.
     */
    private static List<String> readTemplate(Path file, Map<String, String> env, List<Object> refs) throws CliException {
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CliException("the env file " + file + " does not exist", RunClient.BROKER_FAILED);
        } catch (IOException e) {
            throw new CliException("cannot read " + file + ": " + e.getMessage(), RunClient.BROKER_FAILED);
        }
        dev.brokerctl.vault.dotenv.DotenvParser.Result parsed;
        try {
            // read as npm dotenv reads it, as import does by default: the value the application saw
            parsed = dev.brokerctl.vault.dotenv.DotenvParser.parse(content,
                    dev.brokerctl.vault.dotenv.DotenvParser.Syntax.DOTENV);
        } catch (dev.brokerctl.vault.dotenv.DotenvException e) {
            throw new CliException(file + ": " + e.getMessage(), RunClient.BROKER_FAILED);
        } finally {
            Arrays.fill(content, (byte) 0);
        }
        List<String> plain = new ArrayList<>();
        try {
            for (dev.brokerctl.vault.dotenv.DotenvEntry e : parsed.entries()) {
                dev.brokerctl.vault.dotenv.BrokerReference r = dev.brokerctl.vault.dotenv.BrokerReference.of(e);
                if (r != null) {
                    Map<String, Object> ref = new LinkedHashMap<>();
                    ref.put("name", r.name());
                    ref.put("environment", r.environment());
                    ref.put("variable", r.variable());
                    refs.add(ref);
                    env.remove(r.name());
                    plain.remove(r.name());
                } else {
                    env.put(e.name(), new String(e.valueBytes(), StandardCharsets.UTF_8));
                    plain.add(e.name());
                }
            }
        } catch (dev.brokerctl.vault.dotenv.DotenvException e) {
            throw new CliException(file + ": " + e.getMessage(), RunClient.BROKER_FAILED);
        } finally {
            parsed.entries().forEach(dev.brokerctl.vault.dotenv.DotenvEntry::destroy);
        }
        return plain;
    }
}

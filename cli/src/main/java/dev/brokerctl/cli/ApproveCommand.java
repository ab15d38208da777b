package dev.brokerctl.cli;

import dev.brokerctl.approval.ApprovalConsole;
import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.Ttys;
import java.io.BufferedReader;
import java.io.Console;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "approve", description = {
    "Open an approval console: prove the passphrase, then see and decide requests as they arrive.",
    "Approving or granting needs the one-time code shown with the request.",
    "Works on plain stdin/stdout too (no colours without a terminal or with NO_COLOR).",
    "Exit 0 when you end it (Ctrl-D), 1 when the daemon stopped or the connection to it ended."})
final class ApproveCommand implements Callable<Integer>, HoldsSecrets {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        String multiplexer = multiplexer(System.getenv());
        if (multiplexer != null) {
            spec.commandLine().getErr().println(multiplexerWarning(multiplexer));
            spec.commandLine().getErr().flush();
        }
        BrokerClient client = Terminal.system().withPassphrase("Vault passphrase: ", spec.commandLine().getErr(),
                passphrase -> DaemonClient.approver(BrokerPaths.fromEnvironment(), "approve", passphrase));
        Input input = new Input();
        try (client) {
            console(client, input).run();
        }
        if (input.ended) {
            return ExitCodes.OK;   // Ctrl-D: the human ended it
        }
        // the console ended from the daemon's side: say so, and exit non-zero
        boolean stopped = !Files.exists(BrokerPaths.fromEnvironment().socket(), java.nio.file.LinkOption.NOFOLLOW_LINKS);
        spec.commandLine().getErr().println("brokerctl: " + (stopped
                ? "the daemon stopped; this console ends"
                : "the connection to the daemon ended; this console ends") + " (start a new one with: brokerctl approve)");
        spec.commandLine().getErr().flush();
        return ExitCodes.FAILURE;
    }

    /** stdin, remembering whether it ended: what tells a human's Ctrl-D from the daemon going away. */
    static final class Input extends BufferedReader {
        volatile boolean ended;

        Input() {
            super(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        }

        @Override
        public String readLine() throws java.io.IOException {
            try {
                String line = super.readLine();
                if (line == null) {
                    ended = true;
                }
                return line;
            } catch (java.io.IOException e) {
                ended = true;
                throw e;
            }
        }
    }

    /** "tmux" or "screen" when this console runs inside one, else null. */
    static String multiplexer(java.util.Map<String, String> env) {
        if (env.get("TMUX") != null && !env.get("TMUX").isEmpty()) {
            return "tmux";
        }
        if (env.get("STY") != null && !env.get("STY").isEmpty()) {
            return "screen";
        }
        return null;
    }

    static String multiplexerWarning(String multiplexer) {
        return "brokerctl: warning: this console runs inside " + multiplexer + ": any process of your user"
                + " can read its screen (the one-time code) and type into it (" + multiplexer
                + (multiplexer.equals("tmux") ? " capture-pane / send-keys" : " hardcopy / stuff")
                + "), so an agent of your user could approve its own requests. Run the agent under"
                + " `brokerctl sandbox` (it hides the " + multiplexer + " sockets), or approve in a terminal"
                + " outside " + multiplexer + ".";
    }

    /** A console on this process's stdin/stdout, named after its terminal. */
    static ApprovalConsole console(BrokerClient approver) {
        return console(approver, new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
    }

    static ApprovalConsole console(BrokerClient approver, BufferedReader input) {
        long pid = ProcessHandle.current().pid();
        String tty = "";
        try {
            tty = Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString();
        } catch (Exception e) {
            // no /proc: the name just lacks the terminal
        }
        String name = "console " + (tty.startsWith("/dev/") ? tty.substring(5) : "stdin") + " (pid " + pid + ")";
        Console console = System.console();
        boolean color = console != null && System.getenv("NO_COLOR") == null
                && !"dumb".equals(System.getenv("TERM"));
        ApprovalConsole.SecretReader secrets = console == null ? null : prompt -> console.readPassword("%s", prompt);
        return new ApprovalConsole(approver, input, new PrintStream(System.out, true, StandardCharsets.UTF_8), name, Ttys.controlling(pid), color, secrets);
    }
}

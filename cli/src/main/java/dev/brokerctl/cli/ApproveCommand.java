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
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "approve", description = {
    "Open an approval console: prove the passphrase, then see and decide requests as they arrive.",
    "Approving or granting needs the one-time code shown with the request.",
    "Works on plain stdin/stdout too (no colours without a terminal or with NO_COLOR)."})
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
        char[] passphrase = Terminal.system().passphrase("Vault passphrase: ");
        BrokerClient client;
        try {
            client = DaemonClient.approver(BrokerPaths.fromEnvironment(), "approve", passphrase);
        } finally {
            Arrays.fill(passphrase, '\0');
        }
        try (client) {
            console(client).run();
        }
        return ExitCodes.OK;
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
        return new ApprovalConsole(approver,
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)),
                new PrintStream(System.out, true, StandardCharsets.UTF_8), name, Ttys.controlling(pid), color, secrets);
    }
}

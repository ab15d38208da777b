package dev.brokerctl.cli;

import dev.brokerctl.approval.ApprovalConsole;
import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.Message;
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
    "Approving or granting needs the one-time code shown with the request. Works on plain",
    "stdin/stdout too (no colours without a terminal or with NO_COLOR)."})
final class ApproveCommand implements Callable<Integer>, HoldsSecrets {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        BrokerClient client = DaemonClient.connect(BrokerPaths.fromEnvironment(), "approve");
        try (client) {
            char[] passphrase = Terminal.system().passphrase("Vault passphrase: ");
            try {
                client.call(Message.of("authenticate"), Terminal.utf8(passphrase));
            } finally {
                Arrays.fill(passphrase, '\0');
            }
            console(client).run();
        }
        return ExitCodes.OK;
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

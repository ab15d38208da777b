package dev.brokerctl.cli;

import dev.brokerctl.vault.VaultException;
import java.io.PrintWriter;
import picocli.CommandLine;

/** The one place where failures become exit codes and one- or two-line messages. */
final class ExitCodes implements CommandLine.IExecutionExceptionHandler {

    static final int OK = 0;
    static final int FAILURE = 1;
    static final int USAGE = 2;

    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        int code;
        String message;
        if (e instanceof CliException ce) {
            code = ce.exitCode();
            message = ce.getMessage();
        } else if (e instanceof dev.brokerctl.protocol.BrokerException) {
            code = FAILURE;
            message = e.getMessage();
        } else if (e instanceof VaultException) {
            code = FAILURE;
            message = e.getMessage();
        } else if (e instanceof IllegalArgumentException) {
            // user input that failed a rule (a name, a policy, a passphrase length)
            code = USAGE;
            message = e.getMessage();
        } else {
            code = FAILURE;
            message = "internal error (" + e.getClass().getSimpleName() + "); please report it."
                    + " Run with BROKERCTL_DEBUG=1 for details";
        }
        err.println("brokerctl: " + message);
        if (System.getenv("BROKERCTL_DEBUG") != null) {
            e.printStackTrace(err);
        }
        err.flush();
        return code;
    }
}

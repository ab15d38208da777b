package dev.brokerctl.cli;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.DaemonUnavailableException;
import dev.brokerctl.protocol.Message;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** status, unlock, lock and stop: small requests to a running daemon. */
final class DaemonControlCommands {

    private DaemonControlCommands() {
    }

    abstract static class Base implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        BrokerClient connect(String command) throws BrokerException {
            return DaemonClient.connect(BrokerPaths.fromEnvironment(), command);
        }
    }

    @Command(name = "status", description = "Is the daemon running? Locked? Its pid, socket, uptime and pending approvals.")
    static final class Status extends Base {
        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            BrokerPaths paths = BrokerPaths.fromEnvironment();
            Message status;
            try (BrokerClient c = connect("status")) {
                status = c.call(Message.of("status"));
            } catch (DaemonUnavailableException e) {
                if (json) {
                    out().println(new String(Message.of("status").with("running", false)
                            .with("socket", paths.socket().toString()).toJson(), java.nio.charset.StandardCharsets.UTF_8));
                } else {
                    out().println("not running: " + e.getMessage());
                }
                out().flush();
                return ExitCodes.FAILURE;
            }
            boolean locked = status.bool("locked", true);
            if (json) {
                Message m = Message.of("status").with("running", true).with("locked", locked)
                        .with("pid", status.number("pid", -1)).with("socket", status.string("socket", ""))
                        .with("uptime_ms", status.number("uptime_ms", 0))
                        .with("pending", status.number("pending", 0)).with("running_runs", status.number("running", 0))
                        .with("runs_contained", status.bool("runs_contained", false))
                        .with("containment", status.string("containment", ""))
                        .with("install_writable", status.asMap().getOrDefault("install_writable", java.util.List.of()))
                        .with("vault_refused", status.string("vault_refused", null))
                        .with("connections", status.asMap().getOrDefault("connections", java.util.Map.of()));
                out().println(new String(m.toJson(), java.nio.charset.StandardCharsets.UTF_8));
            } else {
                out().printf("running (pid %d), %s%n", status.number("pid", -1),
                        locked ? "LOCKED: unlock it with: brokerctl unlock" : "unlocked");
                if (status.has("vault_refused")) {
                    out().printf("vault:    REFUSED: %s%n", status.string("vault_refused", ""));
                }
                out().printf("socket:   %s%n", status.string("socket", ""));
                out().printf("uptime:   %ds%n", status.number("uptime_ms", 0) / 1000);
                out().printf("pending:  %d approvals%n", status.number("pending", 0));
                out().printf("running:  %d runs%n", status.number("running", 0));
                out().printf("runs:     %s%n", status.string("containment", "containment unknown"));
                Object writable = status.asMap().get("install_writable");
                if (writable instanceof java.util.List<?> w && !w.isEmpty()) {
                    out().printf("install:  WRITABLE by you, so an agent of yours could replace brokerctl: %s;"
                            + " install it under a root-owned prefix (README, 'Install')%n",
                            String.join(", ", w.stream().map(String::valueOf).toList()));
                }
            }
            out().flush();
            return ExitCodes.OK;
        }
    }

    @Command(name = "unlock", description = {
        "Unlock the running daemon's vault (passphrase from the terminal or BROKERCTL_PASSPHRASE_FILE).",
        "The passphrase stays here: it opens the vault's keyslot locally.",
        "The daemon first proves it held this vault's key before it locked; only then it gets the key, encrypted to it.",
        "A daemon started with --locked never held the key: restart it with the passphrase."})
    static final class Unlock extends Base implements HoldsSecrets {
        @Override
        public Integer call() throws Exception {
            BrokerPaths paths = BrokerPaths.fromEnvironment();
            dev.brokerctl.vault.ApproverKeys keys = Terminal.system().withPassphrase("Vault passphrase: ", spec.commandLine().getErr(),
                    passphrase -> dev.brokerctl.vault.Vault.open(paths.vaultFile()).approverKeys(passphrase));
            try (keys; BrokerClient c = connect("unlock")) {
                byte[] verifier = keys.unlockVerifier();
                dev.brokerctl.protocol.Handshake.SessionKeys session;
                try {
                    session = c.authenticate(dev.brokerctl.protocol.Handshake.Role.UNLOCK, verifier,
                            new java.security.SecureRandom());
                } catch (BrokerException e) {
                    if (e.code() == dev.brokerctl.protocol.ErrorCode.CONFLICT) {
                        out().println("already unlocked");
                        return ExitCodes.OK;
                    }
                    throw e;
                } finally {
                    Arrays.fill(verifier, (byte) 0);
                }
                try {
                    c.call(Message.of("unlock_key"), keys.sealVaultKey(session.unlockTransport(), UNLOCK_AAD));
                } finally {
                    session.zero();
                }
            }
            out().println("unlocked");
            return ExitCodes.OK;
        }
    }

    /** As the daemon's {@code Authentication.UNLOCK_AAD}: the sealed key is for unlocking, nothing else. */
    static final byte[] UNLOCK_AAD = "brokerctl/v3 unlock: vault key".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    @Command(name = "lock", description = "Lock the running daemon's vault: its keys are zeroed.")
    static final class Lock extends Base {
        @Override
        public Integer call() throws Exception {
            try (BrokerClient c = connect("lock")) {
                c.call(Message.of("lock"));
            }
            out().println("locked");
            return ExitCodes.OK;
        }
    }

    @Command(name = "stop", description = "Stop the running daemon; running commands are killed.")
    static final class Stop extends Base {
        @Override
        public Integer call() throws Exception {
            try (BrokerClient c = connect("stop")) {
                c.call(Message.of("stop"));
                // The daemon removes its socket, then closes connections: EOF means it is gone.
                while (c.receive() != null) {
                    // drain until the daemon closes the connection
                }
            } catch (BrokerException e) {
                if (!(e instanceof DaemonUnavailableException) && e.getMessage().contains("lost the connection")) {
                    out().println("stopped");
                    return ExitCodes.OK;
                }
                throw e;
            }
            out().println("stopped");
            return ExitCodes.OK;
        }
    }
}

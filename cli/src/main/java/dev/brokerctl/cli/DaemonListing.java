package dev.brokerctl.cli;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.DaemonUnavailableException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.vault.EnvironmentInfo;
import dev.brokerctl.vault.Listing;
import dev.brokerctl.vault.Policy;
import dev.brokerctl.vault.VariableInfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Names-only listings from the running daemon, without the passphrase: {@code list_environments}
 * and {@code list_variables}, the same requests (and the same data) the MCP tools give an agent of
 * this user. No value is ever in these replies. {@link #open} returns null when no daemon answers
 * or its vault is locked; then the command opens the vault itself, with the passphrase.
 */
final class DaemonListing implements AutoCloseable {

    private final BrokerClient client;

    private DaemonListing(BrokerClient client) {
        this.client = client;
    }

    /**
     * A connection to a running daemon whose vault is unlocked, or null (none runs, it is locked,
     * or its socket fails the client's checks: then the vault file is the safer source).
     */
    static DaemonListing open(BrokerPaths paths, String command) {
        BrokerClient c;
        try {
            c = DaemonClient.connect(paths, command);
        } catch (DaemonUnavailableException e) {
            return null;
        } catch (BrokerException e) {
            return null;
        }
        try {
            Message status = c.call(Message.of("status"));
            if (status.bool("locked", true)) {
                c.close();
                return null;
            }
            return new DaemonListing(c);
        } catch (BrokerException e) {
            c.close();
            return null;
        }
    }

    Listing<EnvironmentInfo> environments() throws BrokerException {
        Message reply = client.call(Message.of("list_environments"));
        List<EnvironmentInfo> items = new ArrayList<>();
        for (Message e : reply.messages("environments")) {
            items.add(new EnvironmentInfo(e.string("name"), Policy.parse(e.string("policy", "prompt")),
                    (int) e.number("variable_count", 0)));
        }
        return new Listing<>(items, damaged(reply));
    }

    /** @throws CliException when the environment does not exist, as the vault would say it */
    Listing<VariableInfo> variables(String environment) throws BrokerException, CliException {
        Message reply;
        try {
            reply = client.call(Message.of("list_variables").with("environment", environment));
        } catch (BrokerException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                throw new CliException(e.getMessage());
            }
            throw e;
        }
        List<VariableInfo> items = new ArrayList<>();
        for (Message v : reply.messages("variables")) {
            items.add(new VariableInfo(v.string("name"), v.string("description", ""),
                    Instant.parse(v.string("updated_at"))));
        }
        return new Listing<>(items, damaged(reply));
    }

    private static List<String> damaged(Message reply) throws BrokerException {
        List<String> d = reply.strings("damaged");
        return d == null ? List.of() : d;
    }

    @Override
    public void close() {
        client.close();
    }
}

package dev.brokerctl.mcp;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.BrokerPaths;
import dev.brokerctl.protocol.DaemonUnavailableException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Message;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How this server reaches the daemon: one connection per request or per run (the daemon attaches
 * one run to one connection, and {@link BrokerClient#call} is not for concurrent callers), named in
 * the hello so the human sees which agent asks.
 */
final class Daemon {

    private final BrokerPaths paths;
    private final String version;
    private volatile String agent = "";

    Daemon(BrokerPaths paths, String version) {
        this.paths = paths;
        this.version = version;
    }

    BrokerPaths paths() {
        return paths;
    }

    /** The MCP client's name and version from its initialize request, shown to the approver. */
    void agent(String name, String agentVersion) {
        String a = (name == null ? "" : name) + (agentVersion == null || agentVersion.isEmpty() ? "" : " " + agentVersion);
        this.agent = Schema.printable(a.trim());
    }

    BrokerClient connect() throws BrokerException {
        Map<String, Object> client = new LinkedHashMap<>();
        String a = agent;
        client.put("name", a.isEmpty() ? "brokerctl mcp" : "brokerctl mcp (" + a + ")");
        client.put("version", version);
        return BrokerClient.connect(paths.socket(), client);
    }

    /** One request on its own connection. */
    Message call(Message request) throws BrokerException {
        try (BrokerClient c = connect()) {
            return c.call(request);
        }
    }

    /**
     * What the agent should do about a failure: each sentence names what happened and the next
     * step, usually a command for the human.
     *
     * @param retry what to call again once fixed, e.g. "list_environments"
     */
    static String advice(BrokerException e, String retry) {
        String again = retry == null ? "" : ", then call " + retry + " again";
        if (e instanceof DaemonUnavailableException) {
            // the protocol's message already says what is wrong and names the socket
            return e.getMessage() + "; ask the human to start it" + again;
        }
        return advice(e.code().wire(), e.getMessage(), retry);
    }

    /** The same for an {@code error} message, by its wire code (codes this build may not know included). */
    static String advice(String code, String message, String retry) {
        String again = retry == null ? "" : ", then call " + retry + " again";
        String m = message == null || message.isEmpty() ? "the daemon reported an error (" + code + ")" : message;
        ErrorCode known = ErrorCode.fromWire(code);
        if (!known.wire().equals(code)) {
            return m;
        }
        return switch (known) {
            case LOCKED -> "the vault is locked; ask the human to run: brokerctl unlock" + again;
            case NOT_FOUND -> m + "; call list_environments and list_variables to see the names that exist";
            case VAULT_DAMAGED -> m + "; ask the human to check the vault (brokerctl status)";
            case COMMAND_NOT_FOUND -> m + "; check the command name, or give its absolute path";
            case COMMAND_NOT_EXECUTABLE -> m + "; check the file's permissions, or run it through its interpreter";
            case INTERNAL -> m.contains("brokerctl") ? m : m + "; ask the human to check: brokerctl status";
            default -> m;
        };
    }
}

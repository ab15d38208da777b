package dev.brokerctl.cli;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.BrokerPaths;
import java.util.LinkedHashMap;
import java.util.Map;

/** Connecting the CLI to the daemon, naming the command in the hello. */
final class DaemonClient {

    private DaemonClient() {
    }

    static BrokerClient connect(BrokerPaths paths, String command) throws BrokerException {
        Map<String, Object> client = new LinkedHashMap<>();
        client.put("name", "brokerctl " + command);
        client.put("version", RunMain.version());
        return BrokerClient.connect(paths.socket(), client);
    }
}

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
        return BrokerClient.connect(paths.socket(), hello(command));
    }

    static Map<String, Object> hello(String command) {
        Map<String, Object> client = new LinkedHashMap<>();
        client.put("name", "brokerctl " + command);
        client.put("version", RunMain.version());
        return client;
    }

    /**
     * An approver connection: opens the vault's keyslot here with {@code passphrase} (a wrong one
     * fails before anything is sent), then the handshake over the approver key. The daemon proves
     * itself first; a process at the socket that cannot gets only a random nonce.
     */
    static BrokerClient approver(BrokerPaths paths, String command, char[] passphrase)
            throws BrokerException, dev.brokerctl.vault.VaultException {
        byte[] key;
        try (dev.brokerctl.vault.ApproverKeys keys = dev.brokerctl.vault.Vault.open(paths.vaultFile())
                .approverKeys(passphrase)) {
            key = keys.approverKey();
        }
        try {
            BrokerClient c = connect(paths, command);
            try {
                c.authenticate(dev.brokerctl.protocol.Handshake.Role.APPROVER, key, new java.security.SecureRandom()).zero();
                return c;
            } catch (BrokerException e) {
                c.close();
                throw e;
            }
        } finally {
            java.util.Arrays.fill(key, (byte) 0);
        }
    }
}

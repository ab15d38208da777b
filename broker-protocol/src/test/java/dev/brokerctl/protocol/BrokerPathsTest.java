package dev.brokerctl.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BrokerPathsTest {

    @Test
    void explicitHome_winsOverXdg() {
        BrokerPaths p = BrokerPaths.from(Map.of("BROKERCTL_HOME", "/tmp/bh", "XDG_DATA_HOME", "/x"), "/home/u");
        assertEquals(Path.of("/tmp/bh/vault.db"), p.vaultFile());
    }

    @Test
    void xdgDataHome_isUsedWhenAbsolute() {
        assertEquals(Path.of("/x/brokerctl"), BrokerPaths.from(Map.of("XDG_DATA_HOME", "/x"), "/home/u").home());
        assertEquals(Path.of("/home/u/.local/share/brokerctl"),
                BrokerPaths.from(Map.of("XDG_DATA_HOME", "relative"), "/home/u").home());
    }

    @Test
    void default_isUnderLocalShare() {
        assertEquals(Path.of("/home/u/.local/share/brokerctl"), BrokerPaths.from(Map.of(), "/home/u").home());
    }
}

package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The developer's {@code BROKERCTL_*} must not reach a test: the poms start every test JVM without
 * them and with {@code BROKERCTL_HOME} in the build directory ({@code .ci/run} runs a suite with
 * bogus ones exported to prove it). A variable brokerctl starts reading needs its name in the
 * parent pom's {@code brokerctl.env.excluded}.
 */
class EnvironmentIsolationTest {

    @Test
    void testJvm_seesNoBrokerctlVariableButItsOwnHome() {
        Map<String, String> seen = new TreeMap<>();
        System.getenv().forEach((k, v) -> {
            if (k.startsWith("BROKERCTL_")) {
                seen.put(k, v);
            }
        });
        String home = seen.remove("BROKERCTL_HOME");
        assertEquals(Map.of(), seen, "BROKERCTL_* from the developer's environment reached the test JVM;"
                + " add the names to brokerctl.env.excluded in the parent pom");
        assertTrue(home != null && Path.of(home).endsWith(Path.of("target", "no-home")),
                "BROKERCTL_HOME is not the build's no-home: " + home);
    }
}

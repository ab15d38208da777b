package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Which commands make their process non-dumpable (see {@link HoldsSecrets}): exactly those that
 * read the passphrase or a value. A new command must land in one list or the other here.
 */
class HoldsSecretsTest {

    @Test
    void everyCommandThatReadsThePassphraseOrAValue_isHardened_andRunMcpAndTheDaemonControlsAreNot() {
        Map<String, Boolean> hardened = new TreeMap<>();
        collect(Main.commandLine(), hardened);
        Map<String, Boolean> expected = new TreeMap<>();
        for (String name : new String[] {"approve", "audit", "audit verify", "daemon", "demo", "env create",
                "env delete", "env list", "env policy", "import", "init", "list", "passwd", "set", "unlock",
                "unset"}) {
            expected.put(name, true);
        }
        for (String name : new String[] {"brokerctl", "doctor", "env", "grants", "grants revoke", "help", "lock", "mcp",
                "run", "sandbox", "status", "stop"}) {
            expected.put(name, false);
        }
        assertEquals(expected, hardened);
    }

    private static void collect(CommandLine c, Map<String, Boolean> into) {
        String name = c.getCommandSpec().qualifiedName().replaceFirst("^brokerctl ", "");
        into.put(name, c.getCommand() instanceof HoldsSecrets);
        c.getSubcommands().values().stream().distinct().forEach(sub -> collect(sub, into));
    }
}

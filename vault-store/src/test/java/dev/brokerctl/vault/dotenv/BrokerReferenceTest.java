package dev.brokerctl.vault.dotenv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.brokerctl.vault.Names;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class BrokerReferenceTest {

    private static DotenvEntry line(String text) throws DotenvException {
        return DotenvParser.parse(("\n\n" + text + "\n").getBytes(StandardCharsets.UTF_8)).entries().get(0);
    }

    @Test
    void validReference_namesItsEnvironmentAndVariable() throws Exception {
        assertEquals(new BrokerReference("DB", "dev", "DATABASE_URL"), BrokerReference.of(line("DB=broker://dev/DATABASE_URL")));
        assertEquals(new BrokerReference("DB", "my-env_2", "_x9"), BrokerReference.of(line("DB=\"broker://my-env_2/_x9\"")));
    }

    @Test
    void plainValue_isNoReference() throws Exception {
        assertNull(BrokerReference.of(line("NODE_ENV=test")));
        assertNull(BrokerReference.of(line("URL=https://broker://x")));
        assertNull(BrokerReference.of(line("EMPTY=")));
    }

    @Test
    void malformedReference_isAnErrorNamingTheLineAndVariable_neverTheValue() {
        for (String bad : List.of("broker:/dev/X", "broker://dev", "broker://dev/", "broker://Dev/X",
                "BROKER://dev/X", "broker:dev/X", "broker://dev/1X", "broker://dev/X/Y", "broker:///X",
                "broker://-dev/X")) {
            DotenvException e = assertThrows(DotenvException.class, () -> BrokerReference.of(line("SECRETISH=" + bad)), bad);
            assertEquals(3, e.line(), bad);
            assertEquals("line 3: SECRETISH is not a valid broker reference", e.getMessage().split(":", 3)[0] + ":"
                    + e.getMessage().split(":", 3)[1], bad);
            assertFalse(e.getMessage().contains(bad.substring(bad.indexOf(':') + 1)), e.getMessage());
        }
    }

    @Test
    void nameRules_agreeWithNames() {
        for (String s : List.of("dev", "d", "0", "a-b_c", "Dev", "-a", "_a", "a b", "", "x".repeat(63), "x".repeat(64),
                "é", "a/b")) {
            assertEquals(Names.isEnvironment(s), BrokerReference.isEnvironment(s), s);
        }
        for (String s : List.of("X", "_", "a1", "1a", "A-B", "", "x".repeat(128), "x".repeat(129), "ä", "A.B")) {
            assertEquals(Names.isVariable(s), BrokerReference.isVariable(s), s);
        }
    }
}

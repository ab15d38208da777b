package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.ResolvedValues;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code brokerctl import} stores what npm dotenv gives the application by default, what a shell
 * would with {@code --syntax shell}, and warns about each line the two read differently, naming
 * the line and the stored length, never the value.
 */
class ImportSyntaxIT {

    static final String CANARY = "canary-import-syntax-61d0";

    @TempDir
    Path tmp;

    @Test
    void import_readsAsNpmDotenvByDefault_asAShellOnRequest_andWarnsWhereTheyDiffer() throws Exception {
        Brokerctl b = new Brokerctl(tmp).init();
        assertEquals(0, b.run("env", "create", "dev").exit());
        assertEquals(0, b.run("env", "create", "sh").exit());
        Path file = Files.writeString(tmp.resolve("app.env"), String.join("\n",
                "PASSWORD=" + CANARY + "#tail",
                "TABBED=\"" + CANARY + "\\tx\"",
                "QUOTED=\"say \\\"" + CANARY + "\\\"\"",
                "TICKED=`" + CANARY + "`",
                "SAME=" + CANARY + " # a comment",
                ""));
        Brokerctl.Result dotenv = b.run("import", "dev", file.toString());
        assertEquals(0, dotenv.exit(), dotenv.toString());
        Map<String, String> expected = new TreeMap<>(Map.of(
                "PASSWORD", CANARY,
                "TABBED", CANARY + "\\tx",
                "QUOTED", "say \\\"" + CANARY + "\\\"",
                "TICKED", CANARY,
                "SAME", CANARY));
        assertEquals(expected, values("dev"));
        assertTrue(dotenv.err().contains("app.env line 1 (PASSWORD, " + CANARY.length() + " bytes stored): a # without"
                + " a blank before it ends the value here (npm dotenv)"), dotenv.toString());
        for (String line : new String[] {"line 2 (TABBED", "line 3 (QUOTED", "line 4 (TICKED"}) {
            assertTrue(dotenv.err().contains(line), line + " in " + dotenv);
        }
        assertFalse(dotenv.err().contains("line 5"), "no warning where the loaders agree: " + dotenv);

        Brokerctl.Result shell = b.run("import", "sh", file.toString(), "--syntax", "shell");
        assertEquals(0, shell.exit(), shell.toString());
        assertEquals(new TreeMap<>(Map.of(
                "PASSWORD", CANARY + "#tail",
                "TABBED", CANARY + "\tx",
                "QUOTED", "say \"" + CANARY + "\"",
                "TICKED", "`" + CANARY + "`",
                "SAME", CANARY)), values("sh"));

        Brokerctl.Result unknown = b.run("import", "sh", file.toString(), "--syntax", "compose");
        assertEquals(2, unknown.exit(), unknown.toString());
        assertTrue(unknown.err().contains("unknown dotenv syntax 'compose'; use dotenv"), unknown.toString());
        assertFalse(b.transcript.toString().contains(CANARY), "a value reached the output");
    }

    private Map<String, String> values(String env) throws Exception {
        try (VaultSession s = Vault.open(tmp.resolve("home/vault.db")).unlock(Brokerctl.PASSPHRASE.toCharArray());
                ResolvedValues r = s.resolve(env, null)) {
            Map<String, String> out = new TreeMap<>();
            for (String name : r.names()) {
                out.put(name, new String(r.get(name).revealBytes(), StandardCharsets.UTF_8));
            }
            return out;
        }
    }
}

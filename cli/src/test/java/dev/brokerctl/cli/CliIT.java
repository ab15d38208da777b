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
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real launcher and jar, in a temporary home. */
class CliIT {

    static final String CANARY = "canary-cli-value-3f9d27";

    @TempDir
    Path tmp;
    Brokerctl b;

    @BeforeEach
    void setUp() throws Exception {
        b = new Brokerctl(tmp);
    }

    @AfterEach
    void noValueEverPrinted() {
        assertFalse(b.transcript.toString().contains(CANARY), "a secret value reached the output");
        assertFalse(b.transcript.toString().contains(Brokerctl.PASSPHRASE), "the passphrase was printed");
    }

    private Map<String, String> values(String env, String passphrase) throws Exception {
        try (VaultSession s = Vault.open(b.home.resolve("vault.db")).unlock(passphrase.toCharArray());
                ResolvedValues r = s.resolve(env, null)) {
            Map<String, String> out = new TreeMap<>();
            for (String name : r.names()) {
                out.put(name, new String(r.get(name).revealBytes(), StandardCharsets.UTF_8));
            }
            return out;
        }
    }

    @Test
    void initEnvSetList_walkthrough() throws Exception {
        b.init();
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(b.home.resolve("vault.db"))));
        assertEquals(0, b.run("env", "create", "dev", "--policy", "auto").exit());
        assertEquals(0, b.run("env", "create", "prod").exit());
        Brokerctl.Result set = b.runWithInput(CANARY.getBytes(StandardCharsets.UTF_8),
                "set", "dev", "TOKEN", "--description", "deploy token");
        assertEquals(0, set.exit(), set.toString());
        assertEquals("set TOKEN in dev (" + CANARY.length() + " bytes)\n", set.out());
        // echo adds a newline; a single-line value loses it
        assertEquals(0, b.runWithInput((CANARY + "-2\n").getBytes(StandardCharsets.UTF_8),
                "set", "dev", "SECOND").exit());

        Brokerctl.Result list = b.run("list");
        assertEquals(0, list.exit(), list.toString());
        assertTrue(list.out().contains("dev (policy auto, 2 variables)"), list.out());
        assertTrue(list.out().contains("TOKEN") && list.out().contains("deploy token"), list.out());
        assertTrue(list.out().contains("prod (policy prompt, 0 variables)"), list.out());
        assertEquals(0, b.runWithInput(CANARY.getBytes(StandardCharsets.UTF_8), "set", "prod", "ONE").exit());
        assertTrue(b.run("list", "prod").out().startsWith("prod (policy prompt, 1 variable)\n"), "singular");
        assertEquals(0, b.run("unset", "prod", "ONE").exit());

        Brokerctl.Result json = b.run("list", "dev", "--json");
        assertEquals(0, json.exit());
        assertTrue(json.out().startsWith("{\"environments\":[{\"name\":\"dev\",\"policy\":\"auto\","
                + "\"variables\":[{\"name\":\"SECOND\",\"description\":\"\",\"updated_at\":\""), json.out());
        Brokerctl.Result envs = b.run("env", "list", "--json");
        assertEquals("{\"environments\":[{\"name\":\"dev\",\"policy\":\"auto\",\"variable_count\":2},"
                + "{\"name\":\"prod\",\"policy\":\"prompt\",\"variable_count\":0}],\"damaged\":[]}\n", envs.out());

        assertEquals(Map.of("TOKEN", CANARY, "SECOND", CANARY + "-2"), values("dev", Brokerctl.PASSPHRASE));

        assertEquals(0, b.run("unset", "dev", "SECOND").exit());
        Brokerctl.Result again = b.run("unset", "dev", "SECOND");
        assertEquals(1, again.exit());
        assertEquals("brokerctl: variable SECOND does not exist in environment 'dev'; set it with:"
                + " brokerctl set dev SECOND\n", again.err());
    }

    @Test
    void set_refusesEmptyClosedAndArgumentValues_andStoresNothing() throws Exception {
        b.init();
        b.run("env", "create", "dev");
        String pipeIt = "pipe it in: printf %s \"$V\" | brokerctl set dev TOKEN";

        Brokerctl.Result asArgument = b.runWithInput(new byte[0], "set", "dev", "X", CANARY);
        assertEquals(2, asArgument.exit(), asArgument.toString());
        assertEquals("brokerctl: values are never taken from arguments (they end up in shell history and `ps`); "
                + pipeIt + "\n", asArgument.err());

        Brokerctl.Result empty = b.runWithInput(new byte[0], "set", "dev", "X");
        assertEquals(1, empty.exit(), empty.toString());
        assertTrue(empty.err().startsWith("brokerctl: stdin is empty; nothing was stored."), empty.err());
        assertTrue(empty.err().contains("--allow-empty"), empty.err());
        // `echo "$UNSET" | brokerctl set`: the newline goes, and what is left is empty
        assertEquals(1, b.runWithInput("\n".getBytes(StandardCharsets.UTF_8), "set", "dev", "X").exit());

        Brokerctl.Result closed = b.runIn(tmp, "/bin/sh", null, "-c", "exec \"$0\" set dev X <&-", b.launcher.toString());
        assertEquals(1, closed.exit(), closed.toString());
        assertTrue(closed.err().startsWith("brokerctl: stdin is closed; nothing was stored."), closed.err());
        assertEquals(Map.of(), values("dev", Brokerctl.PASSPHRASE));

        Brokerctl.Result allowed = b.runWithInput(new byte[0], "set", "dev", "X", "--allow-empty");
        assertEquals(0, allowed.exit(), allowed.toString());
        assertEquals(Map.of("X", ""), values("dev", Brokerctl.PASSPHRASE));
    }

    @Test
    void import_understandsEveryDotenvForm_andShredsOnlyAfterCommit() throws Exception {
        b.init();
        b.run("env", "create", "dev");
        Path dotenv = tmp.resolve("app.env");
        Files.writeString(dotenv, String.join("\n",
                "# a comment",
                "",
                "PLAIN=" + CANARY + "-plain   # trailing comment",
                "export EXPORTED=exported-value",
                "SINGLE='single $NOT_EXPANDED \\n stays'",
                "DOUBLE=\"tab\\there \\\"quoted\\\" \\\\ done\"",
                "MULTI=\"-----BEGIN KEY-----",
                "line2",
                "-----END KEY-----\"",
                "  SPACED = spaced value  ",
                "HASH=abc#def",
                "EMPTY=",
                ""));
        Brokerctl.Result missingEnv = b.run("import", "nope", dotenv.toString(), "--shred");
        assertEquals(1, missingEnv.exit());
        assertTrue(Files.exists(dotenv), "a failed import must not shred");

        // a second name for the same inode, made before the import: after --shred its bytes must
        // read as zeros (a plain delete would leave them all there, readable through the link)
        Path link = tmp.resolve("app.env.hardlink");
        Files.createLink(link, dotenv);
        long size = Files.size(dotenv);
        // the shell's reading (escapes decoded in double quotes, '#' without a blank kept); the default,
        // npm dotenv's, is ImportSyntaxIT's
        Brokerctl.Result r = b.run("import", "dev", dotenv.toString(), "--shred", "--syntax", "shell");
        assertEquals(0, r.exit(), r.toString());
        byte[] left = Files.readAllBytes(link);
        assertEquals(size, left.length, "the overwrite keeps the length");
        assertTrue(java.util.stream.IntStream.range(0, left.length).allMatch(i -> left[i] == 0),
                "--shred overwrote every byte with zeros");
        assertTrue(r.out().startsWith("imported 8 variables into dev: PLAIN, EXPORTED, SINGLE, DOUBLE,"
                + " MULTI, SPACED, HASH, EMPTY\n"), r.out());
        assertFalse(Files.exists(dotenv), "--shred deletes the file");
        Map<String, String> expected = new TreeMap<>();
        expected.put("PLAIN", CANARY + "-plain");
        expected.put("EXPORTED", "exported-value");
        expected.put("SINGLE", "single $NOT_EXPANDED \\n stays");
        expected.put("DOUBLE", "tab\there \"quoted\" \\ done");
        expected.put("MULTI", "-----BEGIN KEY-----\nline2\n-----END KEY-----");
        expected.put("SPACED", "spaced value");
        expected.put("HASH", "abc#def");
        expected.put("EMPTY", "");
        assertEquals(expected, values("dev", Brokerctl.PASSPHRASE));
    }

    @Test
    void import_badFile_namesTheLine_withoutEchoingValues() throws Exception {
        b.init();
        b.run("env", "create", "dev");
        Path dotenv = tmp.resolve("bad.env");
        Files.writeString(dotenv, "OK=fine\nBROKEN=\"" + CANARY + "\n");
        Brokerctl.Result r = b.run("import", "dev", dotenv.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("line 2") && r.err().contains("nothing was imported"), r.err());
        assertTrue(Files.exists(dotenv));
        assertEquals(Map.of(), values("dev", Brokerctl.PASSPHRASE));
    }

    /** The one test that runs the real init, with the default KDF (64 MiB, t = 3). */
    @Test
    void init_withTheDefaultKdf() throws Exception {
        Brokerctl.Result init = b.run("init");
        assertEquals(0, init.exit(), init.toString());
        assertTrue(init.out().contains("(Argon2id m=64 MiB, t=3, p=1)"), init.out());
        try (Vault v = Vault.open(b.home.resolve("vault.db"))) {
            // what init wrote to the file, against the documented figures (not the code's own constant)
            try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + b.home.resolve("vault.db"));
                    java.sql.ResultSet rs = c.createStatement().executeQuery(
                            "SELECT kdf, memory_kib, iterations, parallelism, length(salt) FROM keyslot")) {
                assertTrue(rs.next(), "a keyslot row");
                assertEquals("argon2id", rs.getString(1).toLowerCase(java.util.Locale.ROOT));
                assertEquals(64 * 1024, rs.getInt(2), "m = 64 MiB");
                assertEquals(3, rs.getInt(3), "t = 3");
                assertEquals(1, rs.getInt(4), "p = 1");
                assertEquals(16, rs.getInt(5), "a 16-byte salt");
                assertFalse(rs.next(), "one keyslot");
            }
            try (VaultSession s = v.unlock(Brokerctl.PASSPHRASE.toCharArray())) {
                assertTrue(s.verifyAudit().isIntact());
            }
        }
    }

    /** An edited name index: 'list dev' says integrity and never advises creating dev again. */
    @Test
    void listOfAnEnvironmentWhoseIndexWasEdited_saysIntegrity_notCreateIt() throws Exception {
        b.init();
        assertEquals(0, b.run("env", "create", "dev").exit());
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + b.home.resolve("vault.db"));
                java.sql.Statement st = c.createStatement()) {
            st.executeUpdate("UPDATE environment SET name_index = randomblob(32)");
        }
        Brokerctl.Result list = b.run("list", "dev");
        assertEquals("brokerctl: environment 'dev' was not found, and 1 environment in this vault failed its"
                + " integrity check; the vault may have been tampered with or damaged: see brokerctl audit"
                + " verify\n", list.err());
        assertFalse(list.err().contains("env create"), list.err());
    }

    @Test
    void passwd_thenOnlyTheNewPassphraseUnlocks() throws Exception {
        b.init();
        b.run("env", "create", "dev");
        b.runWithInput(CANARY.getBytes(StandardCharsets.UTF_8), "set", "dev", "TOKEN");
        Path fresh = tmp.resolve("new-passphrase");
        Files.writeString(fresh, "a completely new passphrase\n");
        b.env.put("BROKERCTL_NEW_PASSPHRASE_FILE", fresh.toString());
        assertEquals(0, b.run("passwd").exit());
        b.env.remove("BROKERCTL_NEW_PASSPHRASE_FILE");

        Brokerctl.Result old = b.run("list");
        assertEquals(1, old.exit());
        assertEquals("brokerctl: wrong passphrase, or a damaged keyslot\n", old.err());
        b.env.put("BROKERCTL_PASSPHRASE_FILE", fresh.toString());
        assertEquals(0, b.run("list").exit());
        assertEquals(Map.of("TOKEN", CANARY), values("dev", "a completely new passphrase"));
    }

    @Test
    void errors_areOneLineWithAFix_andExitCodesFollowTheRules() throws Exception {
        Brokerctl.Result noVault = b.run("list");
        assertEquals(1, noVault.exit());
        assertEquals("brokerctl: no vault at " + b.home.resolve("vault.db")
                + "; create one with: brokerctl init\n", noVault.err());

        b.init();
        Brokerctl.Result twice = b.run("init", "--kdf-memory-mib", "19");
        assertEquals(1, twice.exit());
        assertTrue(twice.err().contains("already exists"), twice.err());

        Brokerctl.Result unknownEnv = b.run("list", "staging");
        assertEquals(1, unknownEnv.exit());
        assertEquals("brokerctl: environment 'staging' does not exist; create it with:"
                + " brokerctl env create staging\n", unknownEnv.err());

        assertEquals(2, b.run("env", "create", "Bad Name").exit());
        assertEquals(2, b.run("env", "create", "ok", "--policy", "sometimes").exit());
        assertEquals(2, b.run("set", "dev").exit());
        assertEquals(2, b.run("no-such-command").exit());
        assertEquals(2, b.run("init", "--kdf-memory-mib", "0").exit());
        Brokerctl.Result weak = b.run("init", "--kdf-memory-mib", "18");
        assertEquals(2, weak.exit());
        assertEquals("brokerctl: --kdf-memory-mib must be between 19 (OWASP's minimum for Argon2id) and 1024;"
                + " the default is 64\n", weak.err());

        b.run("env", "create", "dev");
        Brokerctl.Result noConfirm = b.run("env", "delete", "dev");
        assertEquals(2, noConfirm.exit());
        assertTrue(noConfirm.err().contains("pass --yes"), noConfirm.err());
        assertEquals(0, b.run("env", "delete", "dev", "--yes").exit());

        b.run("env", "create", "dev");
        Brokerctl.Result big = b.runWithInput(new byte[64 * 1024 + 1], "set", "dev", "BIG");
        assertEquals(1, big.exit());
        assertTrue(big.err().contains("64 KiB"), big.err());

        b.env.put("BROKERCTL_PASSPHRASE_FILE", tmp.resolve("missing").toString());
        Brokerctl.Result noFile = b.run("list");
        assertEquals(1, noFile.exit());
        assertTrue(noFile.err().contains("does not exist"), noFile.err());

        for (String line : (noVault.err() + twice.err() + unknownEnv.err()).split("\n")) {
            assertFalse(line.contains("Exception") || line.startsWith("\tat "), line);
        }
    }

    @Test
    void audit_recordsVaultChanges_verifies_andDetectsTruncation() throws Exception {
        b.init();
        b.run("env", "create", "dev");
        b.runWithInput(CANARY.getBytes(StandardCharsets.UTF_8), "set", "dev", "TOKEN");
        b.run("unset", "dev", "TOKEN");
        Brokerctl.Result policy = b.run("env", "policy", "dev", "auto", "--max-grant", "1h");
        assertEquals(0, policy.exit(), policy.toString());
        assertEquals("environment dev: policy auto, grants up to 1h, run profile sandbox\n", policy.out());
        assertTrue(b.run("env", "list").out().contains("auto"));

        Brokerctl.Result verify = b.run("audit", "verify");
        assertEquals(0, verify.exit(), verify.toString());
        assertEquals("audit log intact: 4 entries\n", verify.out());
        Brokerctl.Result json = b.run("audit", "--json");
        assertEquals(0, json.exit(), json.toString());
        String[] lines = json.out().split("\n");
        assertEquals(4, lines.length, json.out());
        assertTrue(lines[0].contains("\"environment_created\""), lines[0]);
        assertTrue(lines[1].contains("\"variable_set\"") && lines[1].contains("\"TOKEN\""), lines[1]);
        assertTrue(lines[3].contains("\"policy_changed\""), lines[3]);

        try (java.sql.Connection db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + b.home.resolve("vault.db"));
                java.sql.Statement st = db.createStatement()) {
            st.executeUpdate("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)");
        }
        Brokerctl.Result broken = b.run("audit", "verify");
        assertEquals(1, broken.exit(), broken.toString());
        assertTrue(broken.err().contains("entries after 3 are missing (head says 4)"), broken.err());
    }

    @Test
    void launcher_worksFromAnyDirectory_andThroughASymlinkOnPath() throws Exception {
        Path binDir = Files.createDirectories(tmp.resolve("somewhere/bin"));
        Path link = binDir.resolve("brokerctl");
        Files.createSymbolicLink(link, b.launcher);
        Path chained = binDir.resolve("bctl");
        Files.createSymbolicLink(chained, Path.of("brokerctl"));   // relative link to a link
        b.env.put("PATH", binDir + ":" + System.getenv("PATH"));
        // env(1) looks the name up in the child's PATH, as a user's shell would
        Brokerctl.Result viaPath = b.runIn(tmp, "/usr/bin/env", null, "brokerctl", "--version");
        assertEquals(0, viaPath.exit(), viaPath.toString());
        assertTrue(viaPath.out().startsWith("brokerctl "), viaPath.out());
        Brokerctl.Result viaChain = b.runIn(Path.of("/"), chained.toString(), null, "--help");
        assertEquals(0, viaChain.exit(), viaChain.toString());
        assertTrue(viaChain.out().contains("import"), viaChain.out());
    }

    @Test
    void setFromStdin_keepsMultiLineValuesExactly() throws Exception {
        b.init();
        b.run("env", "create", "dev");
        String pem = "-----BEGIN KEY-----\n" + CANARY + "\n-----END KEY-----\n";
        assertEquals(0, b.runWithInput(pem.getBytes(StandardCharsets.UTF_8), "set", "dev", "PEM").exit());
        assertEquals(Map.of("PEM", pem), values("dev", Brokerctl.PASSPHRASE));
    }
}

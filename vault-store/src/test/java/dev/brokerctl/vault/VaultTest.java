package dev.brokerctl.vault;

import static dev.brokerctl.vault.TestVaults.LIGHT;
import static dev.brokerctl.vault.TestVaults.reveal;
import static dev.brokerctl.vault.TestVaults.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.crypto.KdfParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VaultTest {

    @TempDir
    Path tmp;

    @Test
    void createdVault_unlocksWithItsPassphrase_andStartsEmpty() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            assertTrue(s.listEnvironments().items().isEmpty());
        }
    }

    @Test
    void wrongPassphrase_saysWrongPassphrase() throws Exception {
        Path file = TestVaults.create(tmp);
        try (Vault v = Vault.open(file)) {
            WrongPassphraseException e = assertThrows(WrongPassphraseException.class,
                    () -> v.unlock("not the passphrase".toCharArray()));
            assertEquals("wrong passphrase, or a damaged keyslot", e.getMessage());
        }
    }

    @Test
    void fileAndDirectory_arePrivate() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.PROMPT);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            assertEquals("rwx------",
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));
            Path wal = file.resolveSibling("vault.db-wal");
            assertTrue(Files.exists(wal), "WAL mode is on");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(wal)));
        }
    }

    @Test
    void secondCreate_refusesToOverwrite() throws Exception {
        Path file = TestVaults.create(tmp);
        ConflictException e = assertThrows(ConflictException.class,
                () -> Vault.create(file, TestVaults.pass(), LIGHT));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    }

    @Test
    void missingVault_saysHowToCreateOne() {
        NotFoundException e = assertThrows(NotFoundException.class,
                () -> Vault.open(tmp.resolve("nope.db")));
        assertTrue(e.getMessage().contains("brokerctl init"), e.getMessage());
    }

    @Test
    void shortPassphrase_isRefusedAtCreate() {
        assertThrows(IllegalArgumentException.class,
                () -> Vault.create(tmp.resolve("v.db"), "short".toCharArray(), LIGHT));
    }

    @Test
    void environments_createListPolicyDelete() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("prod", Policy.PROMPT);
            s.createEnvironment("dev", Policy.AUTO);
            s.put("dev", "TOKEN", value("t0k3n-value"), "api token");
            assertEquals(List.of(new EnvironmentInfo("dev", Policy.AUTO, 1),
                    new EnvironmentInfo("prod", Policy.PROMPT, 0)), s.listEnvironments().items());
            assertThrows(ConflictException.class, () -> s.createEnvironment("dev", Policy.AUTO));
            s.setPolicy("prod", Policy.AUTO);
            assertEquals(Policy.AUTO, s.environment("prod").policy());
            assertEquals(1, s.deleteEnvironment("dev"));
            NotFoundException e = assertThrows(NotFoundException.class, () -> s.environment("dev"));
            assertEquals("environment 'dev' does not exist; create it with: brokerctl env create dev",
                    e.getMessage());
        }
    }

    @Test
    void invalidNames_areRefused() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            for (String bad : List.of("", "Dev", "-dev", "a".repeat(64), "d v", "dev/x")) {
                assertThrows(IllegalArgumentException.class, () -> s.createEnvironment(bad, Policy.AUTO), bad);
            }
            s.createEnvironment("a".repeat(63), Policy.AUTO);
            s.createEnvironment("0_x-y", Policy.AUTO);
            for (String bad : List.of("", "1A", "A-B", "A".repeat(129), "A B")) {
                assertThrows(IllegalArgumentException.class,
                        () -> s.put("0_x-y", bad, value("vvvv"), null), bad);
            }
            s.put("0_x-y", "_" + "A".repeat(127), value("vvvv"), null);
        }
    }

    @Test
    void variables_putListResolveDelete() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.PROMPT);
            s.put("dev", "TOKEN", value("first"), "the token");
            s.put("dev", "TOKEN", value("second"), null);
            s.put("dev", "PEM", value("-----BEGIN-----\nabc\n-----END-----\n"), "");
            Listing<VariableInfo> listing = s.listVariables("dev");
            assertEquals(List.of("PEM", "TOKEN"),
                    listing.items().stream().map(VariableInfo::name).toList());
            assertEquals("the token", listing.items().get(1).description(), "description kept on update");
            try (ResolvedValues all = s.resolve("dev", null)) {
                assertEquals(Set.of("PEM", "TOKEN"), all.names());
                assertEquals("second", reveal(all, "TOKEN"));
                assertEquals("-----BEGIN-----\nabc\n-----END-----\n", reveal(all, "PEM"));
            }
            try (ResolvedValues one = s.resolve("dev", List.of("TOKEN"))) {
                assertEquals(Set.of("TOKEN"), one.names());
            }
            NotFoundException e = assertThrows(NotFoundException.class,
                    () -> s.resolve("dev", List.of("MISSING")));
            assertTrue(e.getMessage().contains("brokerctl set dev MISSING"), e.getMessage());
            NotFoundException several = assertThrows(NotFoundException.class,
                    () -> s.resolve("dev", List.of("TOKEN", "NOPE", "PEM", "ALSO")));
            assertEquals("variables NOPE, ALSO do not exist in environment 'dev'; set each with: brokerctl set dev NAME",
                    several.getMessage());
            s.delete("dev", "TOKEN");
            assertThrows(NotFoundException.class, () -> s.delete("dev", "TOKEN"));
            assertEquals(1, s.listVariables("dev").items().size());
        }
    }

    @Test
    void valueOf64KiB_isAccepted_andLargerIsRefused() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.PROMPT);
            s.put("dev", "BIG", SecretValue.adopt(new byte[SecretValue.MAX_BYTES]), null);
            assertThrows(IllegalArgumentException.class,
                    () -> SecretValue.adopt(new byte[SecretValue.MAX_BYTES + 1]));
        }
    }

    @Test
    void putAll_isOneTransaction() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.PROMPT);
            Map<String, SecretValue> batch = new TreeMap<>();
            batch.put("A", value("aaaa"));
            batch.put("B", value("bbbb"));
            s.putAll("dev", batch);
            assertEquals(2, s.listVariables("dev").items().size());
            Map<String, SecretValue> bad = new TreeMap<>();
            bad.put("C", value("cccc"));
            bad.put("not valid", value("dddd"));
            assertThrows(IllegalArgumentException.class, () -> s.putAll("dev", bad));
            assertEquals(2, s.listVariables("dev").items().size());
        }
    }

    /**
     * The batch fails after a write: A (new) is inserted first, then B, whose stored description was
     * damaged, fails its integrity check. One transaction: A is gone with it, in this session and the next.
     */
    @Test
    void putAll_failingAfterAWrite_leavesNothingOfTheBatch() throws Exception {
        Path file = TestVaults.create(tmp);
        long b;
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.PROMPT);
            s.put("dev", "B", value("old-b-value"), "kept");
            b = s.rowIdOf("dev", "B");
        }
        try (RawDb db = new RawDb(file)) {
            db.flipBit("variable", "meta", b, 14);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            Map<String, SecretValue> batch = new TreeMap<>();
            batch.put("A", value("new-a-value"));
            batch.put("B", value("new-b-value"));
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class, () -> s.putAll("dev", batch));
            assertTrue(e.getMessage().startsWith("variable B in environment 'dev' failed its integrity check"),
                    e.getMessage());
            VaultException miss = assertThrows(VaultException.class, () -> s.resolve("dev", List.of("A")));
            assertTrue(miss.getMessage().startsWith("variable A was not found in environment 'dev'"), miss.getMessage());
        }
        try (RawDb db = new RawDb(file)) {
            assertEquals(1, db.number("SELECT count(*) FROM variable"), "A was not written, B was not replaced");
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            assertEquals(List.of(), s.listVariables("dev").items());
            assertEquals(1, s.listVariables("dev").damaged().size(), "B stays as it was, damaged");
        }
    }

    @Test
    void passphraseChange_rewrapsKey_oldPassphraseStopsWorking() throws Exception {
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.PROMPT);
            s.put("dev", "TOKEN", value("kept-across-passwd"), null);
            s.changePassphrase("a brand new passphrase".toCharArray(), LIGHT);
        }
        try (Vault v = Vault.open(file)) {
            assertThrows(WrongPassphraseException.class, () -> v.unlock(TestVaults.pass()));
        }
        try (VaultSession s = Vault.open(file).unlock("a brand new passphrase".toCharArray());
                ResolvedValues r = s.resolve("dev", null)) {
            assertEquals("kept-across-passwd", reveal(r, "TOKEN"));
        }
    }

    @Test
    void closedSession_refusesWork_andZeroesResolvedValuesOnClose() throws Exception {
        Path file = TestVaults.create(tmp);
        VaultSession s = TestVaults.unlock(file);
        s.createEnvironment("dev", Policy.PROMPT);
        s.put("dev", "TOKEN", value("zero-me-please"), null);
        ResolvedValues r = s.resolve("dev", null);
        byte[] live = r.get("TOKEN").revealBytes();
        r.close();
        assertTrue(allZero(live));
        s.close();
        s.close();
        assertTrue(s.isClosed());
        assertThrows(IllegalStateException.class, () -> s.listEnvironments());
    }

    @Test
    void toStrings_neverShowValues() throws Exception {
        String canary = "CANARY-tostring-7f3a9";
        Path file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.PROMPT);
            s.put("dev", "TOKEN", value(canary), null);
            try (ResolvedValues r = s.resolve("dev", null)) {
                assertFalse(r.toString().contains(canary));
                assertFalse(r.get("TOKEN").toString().contains(canary));
                assertTrue(r.toString().contains("TOKEN"));
            }
            assertFalse(s.toString().contains(canary));
        }
    }

    @Test
    void defaultKdfParameters_areTheDesignOnes() {
        assertEquals(new KdfParams(64 * 1024, 3, 1), KdfParams.DEFAULT);
    }

    static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
}

package dev.brokerctl.vault;

import static dev.brokerctl.vault.TestVaults.reveal;
import static dev.brokerctl.vault.TestVaults.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.vault.crypto.KdfParams;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Edits the vault file behind brokerctl's back: every change must surface as a clear integrity
 * error that names the item where it can, and leave the other items readable.
 */
class VaultTamperTest {

    @TempDir
    Path tmp;
    Path file;

    @BeforeEach
    void fill() throws Exception {
        file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.AUTO);
            s.createEnvironment("prod", Policy.PROMPT);
            s.put("dev", "ALPHA", value("alpha-value"), "first");
            s.put("dev", "BETA", value("beta-value"), "second");
            s.put("prod", "GAMMA", value("gamma-value"), "third");
        }
    }

    private long variableRow(String name) throws Exception {
        try (VaultSession s = TestVaults.unlock(file)) {
            return s.rowIdOf("dev", name);
        }
    }

    @Test
    void flippedBitInValue_failsNamingTheVariable_othersStillReadable() throws Exception {
        long alpha = variableRow("ALPHA");
        try (RawDb db = new RawDb(file)) {
            db.flipBit("variable", "value", alpha, 25);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> s.resolve("dev", List.of("ALPHA")));
            assertEquals("variable ALPHA in environment 'dev' failed its integrity check (value);"
                    + " the vault file was modified or is corrupted. Restore it from a backup,"
                    + " or set the variable again", e.getMessage());
            try (ResolvedValues r = s.resolve("dev", List.of("BETA"))) {
                assertEquals("beta-value", reveal(r, "BETA"));
            }
            assertEquals(2, s.listVariables("dev").items().size(), "names and descriptions intact");
            s.put("dev", "ALPHA", value("repaired"), null);
            try (ResolvedValues r = s.resolve("dev", null)) {
                assertEquals("repaired", reveal(r, "ALPHA"));
            }
        }
    }

    @Test
    void flippedBitInName_isReportedAsDamagedRow_othersStillListed() throws Exception {
        long alpha = variableRow("ALPHA");
        try (RawDb db = new RawDb(file)) {
            db.flipBit("variable", "name", alpha, 30);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            Listing<VariableInfo> listing = s.listVariables("dev");
            assertEquals(List.of("BETA"), listing.items().stream().map(VariableInfo::name).toList());
            assertEquals(1, listing.damaged().size());
            assertTrue(listing.damaged().get(0).contains("row " + alpha), listing.damaged().get(0));
            assertThrows(VaultIntegrityException.class, () -> s.resolve("dev", List.of("ALPHA")));
            assertThrows(VaultIntegrityException.class, () -> s.resolve("dev", null));
            try (ResolvedValues r = s.resolve("dev", List.of("BETA"))) {
                assertEquals("beta-value", reveal(r, "BETA"));
            }
        }
    }

    @Test
    void flippedBitInDescription_namesTheVariable() throws Exception {
        long beta = variableRow("BETA");
        try (RawDb db = new RawDb(file)) {
            db.flipBit("variable", "meta", beta, 14);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            Listing<VariableInfo> listing = s.listVariables("dev");
            assertEquals(List.of("ALPHA"), listing.items().stream().map(VariableInfo::name).toList());
            assertTrue(listing.damaged().get(0).startsWith("variable BETA in environment 'dev'"),
                    listing.damaged().get(0));
        }
    }

    @Test
    void flippedBitInEnvironmentNameOrPolicy_namesItWherePossible() throws Exception {
        try (RawDb db = new RawDb(file)) {
            long dev = db.number("SELECT environment_id FROM variable GROUP BY environment_id"
                    + " HAVING count(*) = 2");
            db.flipBit("environment", "policy", dev, 13);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            Listing<EnvironmentInfo> listing = s.listEnvironments();
            assertEquals(List.of("prod"), listing.items().stream().map(EnvironmentInfo::name).toList());
            assertEquals(List.of("environment 'dev' failed its integrity check: its policy does not decrypt"),
                    listing.damaged());
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> s.listVariables("dev"));
            assertTrue(e.getMessage().startsWith("environment 'dev' failed its integrity check"));
            try (ResolvedValues r = s.resolve("prod", null)) {
                assertEquals("gamma-value", reveal(r, "GAMMA"));
            }
        }
    }

    @Test
    void ciphertextCopiedIntoAnotherRowOrField_doesNotDecrypt() throws Exception {
        long alpha = variableRow("ALPHA");
        long beta = variableRow("BETA");
        try (RawDb db = new RawDb(file)) {
            byte[] alphaValue = db.blob("SELECT value FROM variable WHERE id = ?", alpha);
            db.update("UPDATE variable SET value = ? WHERE id = ?", alphaValue, beta);
            byte[] alphaName = db.blob("SELECT name FROM variable WHERE id = ?", alpha);
            db.update("UPDATE variable SET meta = ? WHERE id = ?", alphaName, alpha);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> s.resolve("dev", List.of("BETA")));
            assertTrue(e.getMessage().contains("BETA"), e.getMessage());
            assertEquals(List.of("variable ALPHA in environment 'dev' failed its integrity check"
                    + " (description); the vault file was modified or is corrupted. Restore it from"
                    + " a backup, or set the variable again"), s.listVariables("dev").damaged());
        }
    }

    @Test
    void rowMovedToAnotherEnvironment_doesNotDecrypt() throws Exception {
        long alpha = variableRow("ALPHA");
        try (RawDb db = new RawDb(file)) {
            long prod = db.number("SELECT environment_id FROM variable GROUP BY environment_id"
                    + " HAVING count(*) = 1");
            db.update("UPDATE variable SET environment_id = ? WHERE id = ?", prod, alpha);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            Listing<VariableInfo> prod = s.listVariables("prod");
            assertEquals(List.of("GAMMA"), prod.items().stream().map(VariableInfo::name).toList());
            assertEquals(1, prod.damaged().size());
        }
    }

    /** The environment rows by variable count: dev holds two, prod one (see {@link #fill()}). */
    private static long environmentRow(RawDb db, int variables) throws Exception {
        return db.number("SELECT environment_id FROM variable GROUP BY environment_id HAVING count(*) = ?",
                variables);
    }

    /**
     * dev's sealed {@code auto} copied over prod's {@code prompt}: a valid ciphertext under the right
     * key, so only the environment id in its AAD stops prod from becoming {@code auto} silently.
     */
    @Test
    void policyTransplantedFromAnotherEnvironment_isAnIntegrityError_neverThatPolicy() throws Exception {
        try (VaultSession s = TestVaults.unlock(file)) {
            assertEquals(Policy.PROMPT, s.environment("prod").policy(), "the control: prod prompts");
        }
        try (RawDb db = new RawDb(file)) {
            long dev = environmentRow(db, 2);
            long prod = environmentRow(db, 1);
            db.update("UPDATE environment SET policy = ? WHERE id = ?",
                    db.blob("SELECT policy FROM environment WHERE id = ?", dev), prod);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class, () -> s.environment("prod"));
            assertEquals("environment 'prod' failed its integrity check; the vault file was modified or is"
                    + " corrupted. Restore it from a backup", e.getMessage());
            assertThrows(VaultIntegrityException.class, () -> s.resolve("prod", null));
            Listing<EnvironmentInfo> listing = s.listEnvironments();
            assertEquals(List.of("dev"), listing.items().stream().map(EnvironmentInfo::name).toList());
            assertEquals(List.of("environment 'prod' failed its integrity check: its policy does not decrypt"),
                    listing.damaged());
            assertEquals(Policy.AUTO, s.environment("dev").policy(), "the source row is untouched");
        }
    }

    /**
     * dev's and prod's name and name index swapped: each row's name still matches its index, so only
     * the environment id in the name's AAD stops "dev" from opening prod's row, policy and values.
     */
    @Test
    void environmentNamesTransplantedBetweenRows_areAnIntegrityError_neverTheOtherRowsValues() throws Exception {
        try (RawDb db = new RawDb(file)) {
            long dev = environmentRow(db, 2);
            long prod = environmentRow(db, 1);
            byte[] devName = db.blob("SELECT name FROM environment WHERE id = ?", dev);
            byte[] devIndex = db.blob("SELECT name_index FROM environment WHERE id = ?", dev);
            byte[] prodName = db.blob("SELECT name FROM environment WHERE id = ?", prod);
            byte[] prodIndex = db.blob("SELECT name_index FROM environment WHERE id = ?", prod);
            db.update("UPDATE environment SET name_index = ? WHERE id = ?", new byte[] {0}, dev);
            db.update("UPDATE environment SET name = ?, name_index = ? WHERE id = ?", devName, devIndex, prod);
            db.update("UPDATE environment SET name = ?, name_index = ? WHERE id = ?", prodName, prodIndex, dev);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            for (String env : List.of("dev", "prod")) {
                VaultIntegrityException e = assertThrows(VaultIntegrityException.class, () -> s.resolve(env, null),
                        env + " opened the other environment's row");
                assertTrue(e.getMessage().startsWith("environment '" + env + "' failed its integrity check"),
                        e.getMessage());
                assertThrows(VaultIntegrityException.class, () -> s.environment(env));
            }
            assertEquals(List.of(), s.listEnvironments().items());
            assertEquals(2, s.listEnvironments().damaged().size());
        }
    }

    @Test
    void swappedNameIndex_isDetected() throws Exception {
        long alpha = variableRow("ALPHA");
        long beta = variableRow("BETA");
        try (RawDb db = new RawDb(file)) {
            byte[] a = db.blob("SELECT name_index FROM variable WHERE id = ?", alpha);
            byte[] b = db.blob("SELECT name_index FROM variable WHERE id = ?", beta);
            db.update("UPDATE variable SET name_index = ? WHERE id = ?", new byte[] {0}, alpha);
            db.update("UPDATE variable SET name_index = ? WHERE id = ?", a, beta);
            db.update("UPDATE variable SET name_index = ? WHERE id = ?", b, alpha);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> s.resolve("dev", List.of("ALPHA")));
            assertTrue(e.getMessage().contains("name index"), e.getMessage());
        }
    }

    @Test
    void flippedBitInKeyslot_isAnIntegrityError_notWrongPassphrase() throws Exception {
        for (String column : List.of("salt", "wrapped_key", "checksum")) {
            try (RawDb db = new RawDb(file)) {
                db.flipBit("keyslot", column, 1, 3);
            }
            try (Vault v = Vault.open(file)) {
                VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                        () -> v.unlock(TestVaults.pass()), column);
                assertTrue(e.getMessage().contains("keyslot 1") && e.getMessage().contains("checksum"),
                        e.getMessage());
            }
            try (RawDb db = new RawDb(file)) {
                db.flipBit("keyslot", column, 1, 3);
            }
        }
        TestVaults.unlock(file).close();
    }

    @Test
    void changedKeyslotParameters_areDetected() throws Exception {
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE keyslot SET iterations = iterations + 1");
        }
        try (Vault v = Vault.open(file)) {
            assertThrows(VaultIntegrityException.class, () -> v.unlock(TestVaults.pass()));
        }
    }

    @Test
    void flippedBitInHeader_isAnIntegrityError() throws Exception {
        try (RawDb db = new RawDb(file)) {
            byte[] id = db.blob("SELECT value FROM meta WHERE key = 'vault_id'");
            id[0] ^= 1;
            db.update("UPDATE meta SET value = ? WHERE key = 'vault_id'", id);
        }
        try (Vault v = Vault.open(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> v.unlock(TestVaults.pass()));
            assertTrue(e.getMessage().contains("checksum"), e.getMessage());
        }
    }

    /**
     * An attacker who rewrites the checksum too (it is unkeyed) still cannot make unlock run a
     * huge KDF: only the caps stand in the way, so each of these fails if its cap is removed.
     */
    /** Fails rather than hangs without the cap: t = 1000000 runs for hours. */
    @Test
    @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void kdfParametersAboveCap_areRefusedBeforeRunningTheKdf() throws Exception {
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE keyslot SET memory_kib = ?", KdfParams.MAX_MEMORY_KIB * 4);
            Keyslots.recomputeChecksum(db);
        }
        try (Vault v = Vault.open(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> v.unlock(TestVaults.pass()));
            assertTrue(e.getMessage().contains("is refused: Argon2id memory 4194304 KiB is outside"),
                    e.getMessage());
        }
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE keyslot SET memory_kib = 256, iterations = 1000000");
            Keyslots.recomputeChecksum(db);
        }
        try (Vault v = Vault.open(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> v.unlock(TestVaults.pass()));
            assertTrue(e.getMessage().contains("is refused: Argon2id iterations 1000000 is outside 1..10"),
                    e.getMessage());
        }
    }

    /** t = 11 is cheap to run at 256 KiB, so without the cap the KDF runs and the tag fails instead. */
    @Test
    void iterationsJustAboveCap_withChecksumRecomputed_onlyTheCapRejects() throws Exception {
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE keyslot SET iterations = ?", KdfParams.MAX_ITERATIONS + 1);
            Keyslots.recomputeChecksum(db);
        }
        try (Vault v = Vault.open(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> v.unlock(TestVaults.pass()));
            assertTrue(e.getMessage().contains("is refused: Argon2id iterations 11 is outside 1..10"),
                    e.getMessage());
        }
    }

    @Test
    void parallelismJustAboveCap_withChecksumRecomputed_onlyTheCapRejects() throws Exception {
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE keyslot SET parallelism = ?, memory_kib = 256", KdfParams.MAX_PARALLELISM + 1);
            Keyslots.recomputeChecksum(db);
        }
        try (Vault v = Vault.open(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> v.unlock(TestVaults.pass()));
            assertTrue(e.getMessage().contains("is refused: Argon2id parallelism 5 is outside 1..4"),
                    e.getMessage());
        }
    }

    /** The checksum is unkeyed: an editor recomputes it, and then the edit looks like a wrong passphrase. */
    @Test
    void editedSaltWithChecksumRecomputed_saysWrongPassphraseOrDamagedKeyslot() throws Exception {
        try (RawDb db = new RawDb(file)) {
            db.flipBit("keyslot", "salt", 1, 3);
            Keyslots.recomputeChecksum(db);
        }
        try (Vault v = Vault.open(file)) {
            WrongPassphraseException e = assertThrows(WrongPassphraseException.class,
                    () -> v.unlock(TestVaults.pass()));
            assertEquals("wrong passphrase, or a damaged keyslot", e.getMessage());
        }
    }

    @Test
    void missingEnvironment_inAnUndamagedVault_advisesCreatingIt() throws Exception {
        try (VaultSession s = TestVaults.unlock(file)) {
            NotFoundException e = assertThrows(NotFoundException.class, () -> s.listVariables("staging"));
            assertEquals("environment 'staging' does not exist; create it with: brokerctl env create staging",
                    e.getMessage());
        }
    }

    /** An edited index makes 'dev' miss: the miss must not pass for "does not exist, create it". */
    @Test
    void environmentIndexEdited_lookupMissSaysIntegrity_neverAdvisesCreating() throws Exception {
        long alpha = variableRow("ALPHA");
        try (RawDb db = new RawDb(file)) {
            long dev = db.number("SELECT environment_id FROM variable WHERE id = ?", alpha);
            db.flipBit("environment", "name_index", dev, 0);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class, () -> s.listVariables("dev"));
            assertEquals("environment 'dev' was not found, and 1 environment in this vault failed"
                    + " its integrity check; the vault may have been tampered with or damaged: see"
                    + " brokerctl audit verify", e.getMessage());
            assertEquals(List.of("environment 'dev' failed its integrity check: its name index was modified"),
                    s.listEnvironments().damaged());
        }
    }

    @Test
    void otherEnvironmentNameDamaged_lookupOfAMissingOneSaysIntegrity() throws Exception {
        try (RawDb db = new RawDb(file)) {
            byte[] dev = db.blob("SELECT name FROM environment ORDER BY id LIMIT 1");
            byte[] other = db.blob("SELECT name FROM environment ORDER BY id DESC LIMIT 1");
            db.update("UPDATE environment SET name = ? WHERE id = (SELECT id FROM environment ORDER BY id LIMIT 1)", other);
            db.update("UPDATE environment SET name = ? WHERE id = (SELECT id FROM environment ORDER BY id DESC LIMIT 1)", dev);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class, () -> s.environment("staging"));
            assertTrue(e.getMessage().startsWith("environment 'staging' was not found, and 2 environments in"
                    + " this vault failed their integrity check;"), e.getMessage());
            assertFalse(e.getMessage().contains("env create"), e.getMessage());
        }
    }

    @Test
    void variableIndexEdited_lookupMissSaysIntegrity_neverAdvisesSetting() throws Exception {
        long alpha = variableRow("ALPHA");
        try (RawDb db = new RawDb(file)) {
            db.flipBit("variable", "name_index", alpha, 0);
        }
        try (VaultSession s = TestVaults.unlock(file)) {
            VaultIntegrityException e = assertThrows(VaultIntegrityException.class,
                    () -> s.resolve("dev", List.of("ALPHA")));
            assertEquals("variable ALPHA was not found in environment 'dev', and 1 variable in it failed its"
                    + " integrity check; the vault may have been tampered with or damaged: see brokerctl"
                    + " audit verify", e.getMessage());
            assertThrows(VaultIntegrityException.class, () -> s.delete("dev", "ALPHA"));
            assertEquals(List.of("variable ALPHA in environment 'dev' failed its integrity check (name index);"
                    + " the vault file was modified or is corrupted. Restore it from a backup, or set the"
                    + " variable again"), s.listVariables("dev").damaged());
            assertThrows(NotFoundException.class, () -> s.resolve("prod", List.of("ALPHA")));
        }
    }

    @Test
    void futureFormatVersion_isRefusedWithUpgradeAdvice() throws Exception {
        try (RawDb db = new RawDb(file)) {
            db.update("UPDATE meta SET value = ? WHERE key = 'format_version'", "4".getBytes());
        }
        VaultFormatException e = assertThrows(VaultFormatException.class, () -> Vault.open(file));
        assertTrue(e.getMessage().endsWith("has format version 4, newer than this brokerctl reads (3);"
                + " upgrade brokerctl"), e.getMessage());
    }

    @Test
    void truncatedFile_isReportedAsDamaged() throws Exception {
        long size = Files.size(file);
        assertTrue(size > 8192, "vault has several pages");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(size / 2);
        }
        VaultException e = assertThrows(VaultException.class, () -> {
            try (VaultSession s = TestVaults.unlock(file)) {
                s.listVariables("dev");
                s.listVariables("prod");
            }
        });
        assertTrue(e instanceof VaultIntegrityException, e.toString());
        assertTrue(e.getMessage().contains("is damaged"), e.getMessage());
    }

    @Test
    void fileThatIsNotAVault_isRefused() throws Exception {
        Path other = tmp.resolve("notes.txt");
        Files.writeString(other, "just some text, not SQLite at all ".repeat(200));
        VaultException e = assertThrows(VaultException.class, () -> Vault.open(other));
        assertTrue(e.getMessage().contains("damaged") || e.getMessage().contains("not a brokerctl vault"),
                e.getMessage());
        Path emptyDb = tmp.resolve("empty.db");
        new RawDb(emptyDb).close();
        Files.write(emptyDb, new byte[0]);
        VaultFormatException f = assertThrows(VaultFormatException.class, () -> Vault.open(emptyDb));
        assertTrue(f.getMessage().contains("not a brokerctl vault"), f.getMessage());
    }
}

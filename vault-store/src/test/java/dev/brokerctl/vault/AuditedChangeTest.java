package dev.brokerctl.vault;

import static dev.brokerctl.vault.TestVaults.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEntry;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import dev.brokerctl.vault.audit.AuditVerification;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A change and its audit entry commit in one transaction, or neither does. */
class AuditedChangeTest {

    @TempDir
    Path tmp;
    Path file;

    @BeforeEach
    void fill() throws Exception {
        file = TestVaults.create(tmp);
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("dev", Policy.PROMPT);
            s.put("dev", "ALPHA", value("alpha-value"), "first");
        }
    }

    private static AuditRecord record(AuditEvent type) {
        return AuditRecord.of(type, "dev", AuditDetails.of(AuditDetails.SOURCE, "test"));
    }

    private void damageHead() throws Exception {
        try (RawDb db = new RawDb(file)) {
            byte[] head = db.blob("SELECT value FROM meta WHERE key = 'audit_head'");
            head[20] ^= 1;
            db.update("UPDATE meta SET value = ? WHERE key = 'audit_head'", head);
        }
    }

    @Test
    void everyAuditedChange_appendsItsEntry() throws Exception {
        try (VaultSession s = TestVaults.unlock(file)) {
            s.createEnvironment("prod", Policy.AUTO, record(AuditEvent.ENVIRONMENT_CREATED));
            s.setPolicy("dev", Policy.AUTO, null, record(AuditEvent.POLICY_CHANGED));
            s.put("dev", "BETA", value("beta-value"), null, record(AuditEvent.VARIABLE_SET));
            s.putAll("dev", Map.of("GAMMA", value("gamma-value")), record(AuditEvent.IMPORTED));
            s.delete("dev", "BETA", record(AuditEvent.VARIABLE_UNSET));
            assertEquals(0, s.deleteEnvironment("prod", n -> AuditRecord.of(AuditEvent.ENVIRONMENT_DELETED,
                    "prod", AuditDetails.of(AuditDetails.VARIABLE_COUNT, n))));
            s.changePassphrase("a brand new passphrase".toCharArray(), TestVaults.LIGHT,
                    record(AuditEvent.PASSPHRASE_CHANGED));
            assertEquals(List.of(AuditEvent.ENVIRONMENT_CREATED, AuditEvent.POLICY_CHANGED, AuditEvent.VARIABLE_SET,
                    AuditEvent.IMPORTED, AuditEvent.VARIABLE_UNSET, AuditEvent.ENVIRONMENT_DELETED,
                    AuditEvent.PASSPHRASE_CHANGED), s.auditEntries(null, null).stream().map(AuditEntry::type).toList());
            assertEquals(AuditVerification.intact(7), s.verifyAudit());
        }
    }

    /** Damage the head, try each change: it fails, and the file holds none of it. */
    @Test
    void damagedHead_failsTheChange_andTheChangeIsNotInTheFile() throws Exception {
        damageHead();
        try (VaultSession s = TestVaults.unlock(file)) {
            assertThrows(VaultIntegrityException.class,
                    () -> s.createEnvironment("prod", Policy.AUTO, record(AuditEvent.ENVIRONMENT_CREATED)));
            assertThrows(VaultIntegrityException.class,
                    () -> s.setPolicy("dev", Policy.AUTO, null, record(AuditEvent.POLICY_CHANGED)));
            assertThrows(VaultIntegrityException.class,
                    () -> s.put("dev", "BETA", value("beta-value"), null, record(AuditEvent.VARIABLE_SET)));
            assertThrows(VaultIntegrityException.class,
                    () -> s.putAll("dev", Map.of("GAMMA", value("g-value")), record(AuditEvent.IMPORTED)));
            assertThrows(VaultIntegrityException.class,
                    () -> s.delete("dev", "ALPHA", record(AuditEvent.VARIABLE_UNSET)));
            assertThrows(VaultIntegrityException.class,
                    () -> s.deleteEnvironment("dev", n -> record(AuditEvent.ENVIRONMENT_DELETED)));
            assertThrows(VaultIntegrityException.class, () -> s.changePassphrase(
                    "a brand new passphrase".toCharArray(), TestVaults.LIGHT, record(AuditEvent.PASSPHRASE_CHANGED)));
        }
        try (RawDb db = new RawDb(file)) {
            assertEquals(1, db.number("SELECT count(*) FROM environment"));
            assertEquals(1, db.number("SELECT count(*) FROM variable"));
            assertEquals(0, db.number("SELECT count(*) FROM audit"));
        }
        try (VaultSession s = TestVaults.unlock(file)) {   // the old passphrase still opens it
            assertEquals(Policy.PROMPT, s.environment("dev").policy());
            assertEquals(List.of("ALPHA"), s.listVariables("dev").items().stream().map(VariableInfo::name).toList());
        }
    }
}

package dev.brokerctl.vault.audit;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * An entry to append: what happened, the environment (null for a vault-wide event) and its
 * {@link AuditDetails details}. The sequence number and time are given when it is appended.
 * Checked when made, so a refused entry fails its maker, not a later append.
 *
 * @throws IllegalArgumentException when a detail is refused (a secret, an unknown type, too long)
 *     or the environment name is too long
 */
public record AuditRecord(AuditEvent type, String environment, Map<String, Object> details) {

    public AuditRecord {
        Objects.requireNonNull(type, "type");
        details = AuditDetails.copyOf(details);
        AuditCodec.encode(Instant.EPOCH, type, environment, details);
    }

    /** As the constructor, for details typed {@code Map<String, ?>}. */
    public static AuditRecord of(AuditEvent type, String environment, Map<String, ?> details) {
        return new AuditRecord(type, environment, AuditDetails.copyOf(details));
    }

    /** The event, environment and run id only: details may hold argv, which is not for logs. */
    @Override
    public String toString() {
        Object run = details.get(AuditDetails.RUN_ID);
        return "AuditRecord[" + type.id() + (environment == null ? "" : " " + environment)
                + (run == null ? "" : " run " + run) + "]";
    }
}

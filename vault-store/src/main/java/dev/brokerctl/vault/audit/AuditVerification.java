package dev.brokerctl.vault.audit;

/**
 * The result of checking the audit chain. Intact: {@code problem} is null and {@code verified}
 * is the number of entries. Broken: {@code verified} entries (1 to {@code verified}) chain
 * correctly, {@code firstBad} is the first sequence number that does not (0 when the problem is
 * the head itself rather than an entry) and {@code problem} says what is wrong, e.g.
 * "entry 17 was modified" or "entries after 41 are missing (head says 45)".
 */
public record AuditVerification(long verified, long firstBad, String problem) {

    public static AuditVerification intact(long count) {
        return new AuditVerification(count, 0, null);
    }

    public static AuditVerification broken(long verified, long firstBad, String problem) {
        return new AuditVerification(verified, firstBad, java.util.Objects.requireNonNull(problem));
    }

    public boolean isIntact() {
        return problem == null;
    }

    @Override
    public String toString() {
        return isIntact() ? "audit log intact: " + verified + " entries"
                : "audit log damaged: " + problem;
    }
}

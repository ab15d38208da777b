package dev.brokerctl.vault.audit;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One audit log entry as read back: its sequence number (1, 2, ...), when it was appended, what
 * happened, the environment (null for vault-wide events such as {@link AuditEvent#UNLOCKED}) and
 * its {@link AuditDetails details}.
 *
 * <p>An entry that does not decrypt or decode is still returned, in its place, with
 * {@link #damage()} saying what is wrong and every other component null or empty: damage is
 * reported, never hidden.
 */
public record AuditEntry(long seq, Instant time, AuditEvent type, String environment,
        Map<String, Object> details, String damage) {

    /** Longest string shown per detail by {@link #toString()}. */
    private static final int SHOWN_CHARS = 40;

    public AuditEntry {
        details = details == null || details.isEmpty() ? Map.of()
                : Collections.unmodifiableMap(new LinkedHashMap<>(details));
        if (damage == null) {
            Objects.requireNonNull(time, "time");
            Objects.requireNonNull(type, "type");
        }
    }

    /** An intact entry. */
    public static AuditEntry of(long seq, Instant time, AuditEvent type, String environment,
            Map<String, Object> details) {
        return new AuditEntry(seq, time, type, environment, details, null);
    }

    /** An entry that failed its integrity check or could not be decoded. */
    public static AuditEntry damaged(long seq, String damage) {
        return new AuditEntry(seq, null, null, null, Map.of(), Objects.requireNonNull(damage));
    }

    public boolean isDamaged() {
        return damage != null;
    }

    /** A String detail, or null when absent or of another type. */
    public String string(String key) {
        return details.get(key) instanceof String s ? s : null;
    }

    /** An integer detail, or null when absent or of another type. */
    public Long number(String key) {
        return details.get(key) instanceof Long n ? n : null;
    }

    /** A list-of-Strings detail, or null when absent or of another type. */
    @SuppressWarnings("unchecked")
    public List<String> strings(String key) {
        return details.get(key) instanceof List<?> l ? (List<String>) l : null;
    }

    /** Compact: long strings and lists are cut; nothing in an entry is a secret value. */
    @Override
    public String toString() {
        if (damage != null) {
            return "AuditEntry[#" + seq + " damaged: " + damage + "]";
        }
        StringBuilder b = new StringBuilder("AuditEntry[#").append(seq).append(' ').append(time)
                .append(' ').append(type.id());
        if (environment != null) {
            b.append(" env=").append(cut(environment));
        }
        for (Map.Entry<String, Object> e : details.entrySet()) {
            b.append(' ').append(e.getKey()).append('=');
            if (e.getValue() instanceof List<?> list) {
                b.append(list.size() <= 4 ? list.stream().map(o -> cut((String) o)).toList()
                        : "[" + list.size() + " items]");
            } else if (e.getValue() instanceof String s) {
                b.append(cut(s));
            } else {
                b.append(e.getValue());
            }
        }
        return b.append(']').toString();
    }

    private static String cut(String s) {
        return s.length() <= SHOWN_CHARS ? s : s.substring(0, SHOWN_CHARS) + "...";
    }
}

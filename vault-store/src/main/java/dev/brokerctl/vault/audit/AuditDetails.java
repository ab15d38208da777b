package dev.brokerctl.vault.audit;

import dev.brokerctl.vault.ResolvedValues;
import dev.brokerctl.vault.SecretValue;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The details of an audit entry: a small ordered map from a key ({@code [a-z][a-z0-9_]*}) to a
 * String, an integer (kept as {@code Long}) or a list of Strings. An enum constant is stored as
 * its lower-case name. Anything else is refused, in particular a {@link SecretValue}, a
 * {@link ResolvedValues} or raw {@code byte[]}/{@code char[]}: the audit log takes names, argv
 * and numbers, never a value.
 */
public final class AuditDetails {

    // Conventional keys; see AuditEvent for which event carries which.
    public static final String RUN_ID = "run_id";
    public static final String ARGV = "argv";
    public static final String CWD = "cwd";
    public static final String VARIABLES = "variables";
    public static final String VARIABLE = "variable";
    public static final String REASON = "reason";
    public static final String DECISION = "decision";
    public static final String DECIDED_BY = "decided_by";
    public static final String GRANT_ID = "grant_id";
    public static final String EXPIRES_AT = "expires_at";
    public static final String EXIT_CODE = "exit_code";
    public static final String SIGNAL = "signal";
    public static final String DURATION_MS = "duration_ms";
    public static final String MASKED_COUNT = "masked_count";
    public static final String CLIENT = "client";
    public static final String PID = "pid";
    public static final String POLICY = "policy";
    public static final String PREVIOUS = "previous";
    public static final String ATTEMPTS = "attempts";
    public static final String SOURCE = "source";
    public static final String VARIABLE_COUNT = "variable_count";
    public static final String EXECUTABLE = "executable";
    public static final String REQUEST_HASH = "request_hash";
    public static final String ENV_CHANGES = "env_changes";
    public static final String MASKING = "masking";
    public static final String STDIN = "stdin";
    public static final String PEER_EXE = "peer_exe";
    public static final String COUNT = "count";
    public static final String EVENTS = "events";
    public static final String HAPPENED_AT = "happened_at";

    public static final int MAX_DETAILS = 64;
    public static final int MAX_STRING_CHARS = 16 * 1024;
    public static final int MAX_LIST_ITEMS = 4096;

    private static final Pattern KEY = Pattern.compile("[a-z][a-z0-9_]{0,63}");

    private AuditDetails() {
    }

    /**
     * An ordered, checked, unmodifiable map from alternating keys and values:
     * {@code of("run_id", id, "argv", argv, "exit_code", 0)}.
     *
     * @throws IllegalArgumentException on an odd count, a bad key or a refused value
     */
    public static Map<String, Object> of(Object... keysAndValues) {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("audit details need key, value pairs; got "
                    + keysAndValues.length + " arguments");
        }
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            if (!(keysAndValues[i] instanceof String key)) {
                throw new IllegalArgumentException("audit detail key #" + (i / 2) + " is not a String");
            }
            if (map.put(key, keysAndValues[i + 1]) != null) {
                throw new IllegalArgumentException("audit detail '" + key + "' is given twice");
            }
        }
        return copyOf(map);
    }

    /**
     * Checks {@code details} and returns an unmodifiable copy in the same order, values
     * normalised (integers to {@code Long}, enums to their lower-case name, lists copied).
     *
     * @throws IllegalArgumentException naming the offending key (never printing the value)
     */
    public static Map<String, Object> copyOf(Map<String, ?> details) {
        if (details == null || details.isEmpty()) {
            return Map.of();
        }
        if (details.size() > MAX_DETAILS) {
            throw new IllegalArgumentException("an audit entry takes at most " + MAX_DETAILS
                    + " details; got " + details.size());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : details.entrySet()) {
            String key = checkKey(e.getKey());
            out.put(key, normalise(key, e.getValue()));
        }
        return Collections.unmodifiableMap(out);
    }

    static String checkKey(String key) {
        if (key == null || !KEY.matcher(key).matches()) {
            throw new IllegalArgumentException("invalid audit detail key"
                    + (key == null ? "" : " of " + key.length() + " characters")
                    + ": use 1-64 characters of a-z, 0-9 and '_', starting with a letter");
        }
        return key;
    }

    private static Object normalise(String key, Object value) {
        if (value instanceof SecretValue || value instanceof ResolvedValues
                || value instanceof byte[] || value instanceof char[]) {
            throw new IllegalArgumentException("audit detail '" + key + "' is a secret or raw bytes;"
                    + " the audit log takes names, argv and numbers, never a value");
        }
        if (value instanceof String s) {
            return checkString(key, s);
        }
        if (value instanceof Long || value instanceof Integer || value instanceof Short
                || value instanceof Byte) {
            return ((Number) value).longValue();
        }
        if (value instanceof Enum<?> e) {
            return e.name().toLowerCase(Locale.ROOT);
        }
        if (value instanceof Collection<?> c) {
            if (c.size() > MAX_LIST_ITEMS) {
                throw new IllegalArgumentException("audit detail '" + key + "' has " + c.size()
                        + " items; the limit is " + MAX_LIST_ITEMS);
            }
            List<String> list = new ArrayList<>(c.size());
            for (Object item : c) {
                if (!(item instanceof String s)) {
                    throw new IllegalArgumentException("audit detail '" + key + "' is a list with a "
                            + (item == null ? "null" : item.getClass().getSimpleName())
                            + " item; lists hold Strings only");
                }
                list.add(checkString(key, s));
            }
            return Collections.unmodifiableList(list);
        }
        throw new IllegalArgumentException("audit detail '" + key + "' is "
                + (value == null ? "null" : "a " + value.getClass().getSimpleName())
                + "; use a String, an integer or a list of Strings (leave out what is unknown)");
    }

    private static String checkString(String key, String s) {
        if (s.length() > MAX_STRING_CHARS) {
            throw new IllegalArgumentException("audit detail '" + key + "' has a string of "
                    + s.length() + " characters; the limit is " + MAX_STRING_CHARS);
        }
        return s;
    }
}

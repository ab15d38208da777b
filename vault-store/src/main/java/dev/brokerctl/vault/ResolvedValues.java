package dev.brokerctl.vault;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Values resolved for one injection, by variable name. Only the runner should call
 * {@link #get}; {@link #close()} zeroes every value. {@code toString} lists names only.
 */
public final class ResolvedValues implements AutoCloseable {

    private final String environment;
    private final Map<String, SecretValue> values;

    ResolvedValues(String environment, Map<String, SecretValue> values) {
        this.environment = environment;
        this.values = values;
    }

    public String environment() {
        return environment;
    }

    /** Variable names, in name order. */
    public Set<String> names() {
        return Collections.unmodifiableSet(values.keySet());
    }

    public SecretValue get(String name) {
        return values.get(name);
    }

    public Map<String, SecretValue> asMap() {
        return Collections.unmodifiableMap(values);
    }

    @Override
    public void close() {
        values.values().forEach(SecretValue::destroy);
    }

    @Override
    public String toString() {
        return "ResolvedValues[" + environment + ": " + String.join(", ", values.keySet()) + "]";
    }

    static ResolvedValues of(String environment, LinkedHashMap<String, SecretValue> values) {
        return new ResolvedValues(environment, values);
    }
}

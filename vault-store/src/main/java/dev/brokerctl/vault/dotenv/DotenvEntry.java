package dev.brokerctl.vault.dotenv;

import java.util.Arrays;
import java.util.Objects;

/**
 * One {@code NAME=value} entry of a dotenv file. The value is a secret.
 *
 * <p>The value is held as bytes and leaves this object only through {@link #valueBytes()}.
 * {@link #toString()} prints the name and the value length only. There is deliberately no
 * {@code equals}/{@code hashCode}: entries compare by identity, so a value is never compared
 * or hashed by accident. Call {@link #destroy()} once the value has been consumed.
 *
 * <p>Not thread-safe.
 */
public final class DotenvEntry {

    private final String name;
    private final int line;
    private final byte[] value;
    private boolean destroyed;

    /** Takes ownership of {@code value}: the caller must not keep or reuse the array. */
    DotenvEntry(String name, int line, byte[] value) {
        this.name = Objects.requireNonNull(name, "name");
        this.line = line;
        this.value = Objects.requireNonNull(value, "value");
    }

    /** The variable name; matches {@code [A-Za-z_][A-Za-z0-9_]{0,127}}. Not secret. */
    public String name() {
        return name;
    }

    /** The 1-based line on which this entry (its name) starts. */
    public int line() {
        return line;
    }

    /**
     * Returns the <strong>internal</strong> value array, not a copy, so that no unzeroed copy is
     * left behind. Writes to the returned array change this entry; {@link #destroy()} zeroes it.
     * Copy it if you need the value after destroying the entry.
     *
     * @throws IllegalStateException if {@link #destroy()} has been called
     */
    public byte[] valueBytes() {
        if (destroyed) {
            throw new IllegalStateException("value of " + name + " has been destroyed");
        }
        return value;
    }

    /** Length of the value in bytes; still available after {@link #destroy()}. */
    public int valueLength() {
        return value.length;
    }

    /** Zeroes the value. Idempotent; {@link #valueBytes()} throws afterwards. */
    public void destroy() {
        Arrays.fill(value, (byte) 0);
        destroyed = true;
    }

    /** Whether {@link #destroy()} has been called. */
    public boolean isDestroyed() {
        return destroyed;
    }

    /** Name and value length only, never the value. */
    @Override
    public String toString() {
        return "DotenvEntry[name=" + name + ", valueLength=" + value.length
                + (destroyed ? ", destroyed" : "") + "]";
    }
}

package dev.brokerctl.vault;

import java.util.Arrays;

/**
 * A secret value's bytes. It cannot print, compare or hash itself; the bytes come out only
 * through {@link #revealBytes()}, which is easy to grep for. {@link #destroy()} zeroes them.
 */
public final class SecretValue implements AutoCloseable {

    /** Largest value the vault stores. */
    public static final int MAX_BYTES = 64 * 1024;

    private final byte[] bytes;
    private boolean destroyed;

    private SecretValue(byte[] bytes) {
        this.bytes = bytes;
    }

    /** Takes ownership of {@code bytes}: the caller must not keep or reuse the array. */
    public static SecretValue adopt(byte[] bytes) {
        if (bytes.length > MAX_BYTES) {
            int length = bytes.length;
            Arrays.fill(bytes, (byte) 0);
            throw new IllegalArgumentException("value is " + length + " bytes; the limit is "
                    + MAX_BYTES + " bytes (64 KiB)");
        }
        return new SecretValue(bytes);
    }

    /** Copies {@code bytes}; the caller still owns and should zero its array. */
    public static SecretValue copyOf(byte[] bytes) {
        return adopt(bytes.clone());
    }

    /** The value itself; the returned array is live and is zeroed by {@link #destroy()}. */
    public byte[] revealBytes() {
        if (destroyed) {
            throw new IllegalStateException("secret value was destroyed");
        }
        return bytes;
    }

    public int length() {
        return bytes.length;
    }

    public void destroy() {
        Arrays.fill(bytes, (byte) 0);
        destroyed = true;
    }

    @Override
    public void close() {
        destroy();
    }

    @Override
    public String toString() {
        return "SecretValue[" + bytes.length + " bytes, redacted]";
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }
}

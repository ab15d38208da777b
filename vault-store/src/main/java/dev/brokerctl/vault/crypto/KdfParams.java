package dev.brokerctl.vault.crypto;

/**
 * Argon2id cost parameters of one keyslot. They are stored in the vault file, so a reader must
 * treat them as untrusted: {@link #checkWithinCaps()} runs before any KDF work, so a tampered
 * slot cannot make {@code unlock} allocate gigabytes or spin for minutes.
 */
public record KdfParams(int memoryKib, int iterations, int parallelism) {

    /** DESIGN.md defaults: m = 64 MiB, t = 3, p = 1. */
    public static final KdfParams DEFAULT = new KdfParams(64 * 1024, 3, 1);

    /** Upper bounds accepted when reading a vault. */
    public static final int MAX_MEMORY_KIB = 1024 * 1024;
    public static final int MAX_ITERATIONS = 64;
    public static final int MAX_PARALLELISM = 16;

    /** Below this memory cost the human is warned (OWASP's floor for Argon2id is 19 MiB). */
    public static final int RECOMMENDED_MIN_MEMORY_KIB = 19 * 1024;

    public static KdfParams withMemoryMib(int mib) {
        return new KdfParams(mib * 1024, DEFAULT.iterations(), DEFAULT.parallelism());
    }

    /**
     * @throws IllegalArgumentException naming the parameter out of range; callers reading a
     *     vault turn it into an integrity error.
     */
    public void checkWithinCaps() {
        if (parallelism < 1 || parallelism > MAX_PARALLELISM) {
            throw new IllegalArgumentException("Argon2id parallelism " + parallelism
                    + " is outside 1.." + MAX_PARALLELISM);
        }
        if (iterations < 1 || iterations > MAX_ITERATIONS) {
            throw new IllegalArgumentException("Argon2id iterations " + iterations
                    + " is outside 1.." + MAX_ITERATIONS);
        }
        if (memoryKib < 8 * parallelism || memoryKib > MAX_MEMORY_KIB) {
            throw new IllegalArgumentException("Argon2id memory " + memoryKib + " KiB is outside "
                    + (8 * parallelism) + ".." + MAX_MEMORY_KIB + " KiB");
        }
    }
}

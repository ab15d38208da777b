package dev.brokerctl.vault.crypto;

import java.util.Objects;

/**
 * Argon2id cost parameters of one keyslot. They are stored in the vault file, so a reader must
 * treat them as untrusted: {@link #checkWithinCaps()} runs before any KDF work, so a tampered
 * slot cannot make {@code unlock} allocate gigabytes or spin for minutes. A new keyslot must also
 * reach the floor ({@link #checkCreationFloor()}), unless made by {@link #insecureForTests}.
 *
 * <p>A class, not a record: a record's canonical constructor is public, so the test-only flag
 * could be set by anyone with {@code new}; here only {@link #insecureForTests} sets it.
 */
public final class KdfParams {

    /** DESIGN.md defaults: m = 64 MiB, t = 3, p = 1. */
    public static final KdfParams DEFAULT = new KdfParams(64 * 1024, 3, 1);

    /** Upper bounds accepted when reading a vault. */
    public static final int MAX_MEMORY_KIB = 1024 * 1024;
    public static final int MAX_ITERATIONS = 10;
    public static final int MAX_PARALLELISM = 4;

    /** Lower bounds for a new keyslot: OWASP's minimum for Argon2id (m = 19 MiB, t = 2). */
    public static final int MIN_MEMORY_KIB = 19 * 1024;
    public static final int MIN_ITERATIONS = 2;

    private final int memoryKib;
    private final int iterations;
    private final int parallelism;
    private final boolean insecureForTests;

    public KdfParams(int memoryKib, int iterations, int parallelism) {
        this(memoryKib, iterations, parallelism, false);
    }

    private KdfParams(int memoryKib, int iterations, int parallelism, boolean insecureForTests) {
        this.memoryKib = memoryKib;
        this.iterations = iterations;
        this.parallelism = parallelism;
        this.insecureForTests = insecureForTests;
    }

    /**
     * Parameters that may be below the creation floor, for tests (whose subject is not the KDF)
     * and for {@code brokerctl demo}'s throwaway vault only. No command that makes a real vault
     * calls this; the caps still apply.
     */
    public static KdfParams insecureForTests(int memoryKib, int iterations, int parallelism) {
        return new KdfParams(memoryKib, iterations, parallelism, true);
    }

    /** The default iterations and parallelism with {@code mib} MiB of memory. */
    public static KdfParams withMemoryMib(int mib) {
        return new KdfParams(mib * 1024, DEFAULT.iterations(), DEFAULT.parallelism());
    }

    /** These parameters, each raised to the creation floor where it is below (for a re-wrap). */
    public KdfParams atLeastFloor() {
        if (insecureForTests) {
            return this;
        }
        return new KdfParams(Math.max(memoryKib, MIN_MEMORY_KIB), Math.max(iterations, MIN_ITERATIONS),
                parallelism);
    }

    public int memoryKib() {
        return memoryKib;
    }

    public int iterations() {
        return iterations;
    }

    public int parallelism() {
        return parallelism;
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

    /**
     * The caps, and for a new keyslot the floor (skipped for {@link #insecureForTests} only).
     *
     * @throws IllegalArgumentException naming the parameter below the floor
     */
    public void checkCreationFloor() {
        checkWithinCaps();
        if (insecureForTests) {
            return;
        }
        if (memoryKib < MIN_MEMORY_KIB) {
            throw new IllegalArgumentException("Argon2id memory " + (memoryKib % 1024 == 0
                    ? memoryKib / 1024 + " MiB" : memoryKib + " KiB") + " is below the"
                    + " minimum of " + MIN_MEMORY_KIB / 1024 + " MiB for a new vault");
        }
        if (iterations < MIN_ITERATIONS) {
            throw new IllegalArgumentException("Argon2id iterations " + iterations + " is below the"
                    + " minimum of " + MIN_ITERATIONS + " for a new vault");
        }
    }

    /** Equal when the costs are equal; the test-only flag is not a cost. */
    @Override
    public boolean equals(Object o) {
        return o instanceof KdfParams k && k.memoryKib == memoryKib && k.iterations == iterations
                && k.parallelism == parallelism;
    }

    @Override
    public int hashCode() {
        return Objects.hash(memoryKib, iterations, parallelism);
    }

    @Override
    public String toString() {
        return "KdfParams[m=" + memoryKib + " KiB, t=" + iterations + ", p=" + parallelism
                + (insecureForTests ? ", insecure for tests" : "") + "]";
    }
}

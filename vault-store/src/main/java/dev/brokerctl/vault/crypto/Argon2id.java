package dev.brokerctl.vault.crypto;

import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/** Argon2id (RFC 9106, version 0x13) through BouncyCastle's lightweight API. */
public final class Argon2id {

    private Argon2id() {
    }

    /** Derives {@code outLen} bytes from a password; caps are checked before any work. */
    public static byte[] derive(byte[] password, byte[] salt, KdfParams params, int outLen) {
        params.checkWithinCaps();
        return derive(password, salt, null, null, params, outLen);
    }

    /**
     * The full RFC 9106 form with the optional secret {@code K} and associated data {@code X};
     * the vault uses neither, the known-answer test needs both.
     */
    static byte[] derive(byte[] password, byte[] salt, byte[] secret, byte[] associated,
            KdfParams params, int outLen) {
        Argon2Parameters.Builder builder = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withMemoryAsKB(params.memoryKib())
                .withIterations(params.iterations())
                .withParallelism(params.parallelism())
                .withSalt(salt);
        if (secret != null) {
            builder.withSecret(secret);
        }
        if (associated != null) {
            builder.withAdditional(associated);
        }
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(builder.build());
        byte[] out = new byte[outLen];
        generator.generateBytes(password, out);
        return out;
    }
}

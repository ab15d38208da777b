package dev.brokerctl.vault.crypto;

import java.nio.charset.StandardCharsets;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/** HKDF-SHA256 (RFC 5869). */
public final class Hkdf {

    private Hkdf() {
    }

    public static byte[] sha256(byte[] ikm, byte[] salt, byte[] info, int outLen) {
        HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
        hkdf.init(new HKDFParameters(ikm, salt, info));
        byte[] out = new byte[outLen];
        hkdf.generateBytes(out, 0, outLen);
        return out;
    }

    /** A 32-byte subkey of {@code key} for one purpose, e.g. {@code "brokerctl/v1/value"}. */
    public static byte[] subkey(byte[] key, byte[] salt, String purpose) {
        return sha256(key, salt, purpose.getBytes(StandardCharsets.US_ASCII), 32);
    }
}

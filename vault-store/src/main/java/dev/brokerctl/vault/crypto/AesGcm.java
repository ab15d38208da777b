package dev.brokerctl.vault.crypto;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM with a 96-bit nonce and a 128-bit tag, and the vault's ciphertext envelope
 * {@code version(1) | nonce(12) | ciphertext | tag(16)}. A fresh {@link Cipher} per call: GCM
 * instances must never be reused with the same key and nonce, and sharing one across threads
 * is unsafe.
 */
public final class AesGcm {

    public static final int KEY_BYTES = 32;
    public static final int NONCE_BYTES = 12;
    public static final int TAG_BITS = 128;
    /** Version byte of the envelope; part of the AAD as well. */
    public static final byte ENVELOPE_VERSION = 1;

    private AesGcm() {
    }

    /** Raw AES-GCM: returns ciphertext with the tag appended. */
    public static byte[] encrypt(byte[] key, byte[] nonce, byte[] plaintext, byte[] aad) {
        try {
            Cipher cipher = init(Cipher.ENCRYPT_MODE, key, nonce, TAG_BITS);
            if (aad != null) {
                cipher.updateAAD(aad);
            }
            return cipher.doFinal(plaintext);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JVM", e);
        }
    }

    /**
     * Raw AES-GCM decryption of ciphertext-with-tag.
     *
     * @throws AEADBadTagException when the tag does not verify (wrong key, changed data or AAD)
     */
    public static byte[] decrypt(byte[] key, byte[] nonce, byte[] ciphertextAndTag, byte[] aad)
            throws AEADBadTagException {
        return decrypt(key, nonce, ciphertextAndTag, aad, TAG_BITS);
    }

    /** As {@link #decrypt(byte[], byte[], byte[], byte[])} with another tag length (tests). */
    static byte[] decrypt(byte[] key, byte[] nonce, byte[] ciphertextAndTag, byte[] aad,
            int tagBits) throws AEADBadTagException {
        try {
            Cipher cipher = init(Cipher.DECRYPT_MODE, key, nonce, tagBits);
            if (aad != null) {
                cipher.updateAAD(aad);
            }
            return cipher.doFinal(ciphertextAndTag);
        } catch (AEADBadTagException e) {
            throw new AEADBadTagException("AES-GCM tag mismatch");
        } catch (GeneralSecurityException e) {
            // e.g. a ciphertext shorter than the tag: for the caller it is the same failure.
            throw new AEADBadTagException("AES-GCM input rejected");
        }
    }

    /** Seals into the envelope with a fresh random nonce. */
    public static byte[] seal(byte[] key, byte[] plaintext, byte[] aad, SecureRandom random) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        byte[] body = encrypt(key, nonce, plaintext, aad);
        byte[] out = new byte[1 + NONCE_BYTES + body.length];
        out[0] = ENVELOPE_VERSION;
        System.arraycopy(nonce, 0, out, 1, NONCE_BYTES);
        System.arraycopy(body, 0, out, 1 + NONCE_BYTES, body.length);
        return out;
    }

    /** Opens an envelope made by {@link #seal}. */
    public static byte[] open(byte[] key, byte[] envelope, byte[] aad) throws AEADBadTagException {
        if (envelope == null || envelope.length < 1 + NONCE_BYTES + TAG_BITS / 8
                || envelope[0] != ENVELOPE_VERSION) {
            throw new AEADBadTagException("malformed envelope");
        }
        byte[] nonce = Arrays.copyOfRange(envelope, 1, 1 + NONCE_BYTES);
        byte[] body = Arrays.copyOfRange(envelope, 1 + NONCE_BYTES, envelope.length);
        return decrypt(key, nonce, body, aad);
    }

    private static Cipher init(int mode, byte[] key, byte[] nonce, int tagBits)
            throws GeneralSecurityException {
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(tagBits, nonce));
        return cipher;
    }
}

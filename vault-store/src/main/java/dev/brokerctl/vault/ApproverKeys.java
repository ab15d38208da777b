package dev.brokerctl.vault;

import dev.brokerctl.vault.crypto.AesGcm;
import dev.brokerctl.vault.crypto.Hkdf;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * What a client needs to prove to the daemon that it could open the vault's keyslot, without the
 * vault key itself: keys derived one-way (HKDF-SHA256, salt = vault id) from the random vault key,
 * each with its own label. Made by {@link Vault#approverKeys} from the passphrase, locally.
 *
 * <p>The vault key stays inside: it leaves only sealed under a key the caller supplies
 * ({@link #sealVaultKey}), for {@code brokerctl unlock} to hand it to a daemon that proved itself.
 * Close to zero it.
 */
public final class ApproverKeys implements AutoCloseable {

    /** The approver's handshake key: proves "I opened the keyslot" to a daemon that holds the vault key. */
    public static final String APPROVER_LABEL = "brokerctl/v1/approver";
    /**
     * What a locked daemon keeps: it proves "I held this vault's key" to {@code brokerctl unlock},
     * and cannot decrypt anything.
     */
    public static final String UNLOCK_LABEL = "brokerctl/v1/unlock-verifier";

    private final byte[] vaultId;
    private final byte[] dek;
    private final SecureRandom random;
    private boolean closed;

    /** Takes ownership of {@code dek}. */
    ApproverKeys(byte[] vaultId, byte[] dek, SecureRandom random) {
        this.vaultId = vaultId.clone();
        this.dek = dek;
        this.random = random;
    }

    static byte[] derive(byte[] dek, byte[] vaultId, String label) {
        return Hkdf.subkey(dek, vaultId, label);
    }

    /** A fresh copy of the approver key (the caller zeroes it). */
    public synchronized byte[] approverKey() {
        check();
        return derive(dek, vaultId, APPROVER_LABEL);
    }

    /** A fresh copy of the unlock verifier (the caller zeroes it). */
    public synchronized byte[] unlockVerifier() {
        check();
        return derive(dek, vaultId, UNLOCK_LABEL);
    }

    /**
     * The vault key sealed with AES-256-GCM under {@code transportKey} (32 bytes), bound to
     * {@code aad}; opened by {@link Vault#unlockWithSealedKey}.
     */
    public synchronized byte[] sealVaultKey(byte[] transportKey, byte[] aad) {
        check();
        return AesGcm.seal(transportKey, dek, aad, random);
    }

    private void check() {
        if (closed) {
            throw new IllegalStateException("these approver keys were closed");
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        Arrays.fill(dek, (byte) 0);
    }

    @Override
    public String toString() {
        return "ApproverKeys[redacted]";
    }
}

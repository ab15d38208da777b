package dev.brokerctl.daemon;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Handshake;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.vault.VaultException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;

/**
 * The daemon's side of the {@link Handshake} on one connection: answers a client's nonce with its
 * own and its proof (over the approver key it holds unlocked, or the unlock verifier it kept at
 * lock), checks the client's proof, and hands the session keys to the connection. Proofs are
 * checked against keys in this daemon's memory only, never against the file at a path.
 */
final class Authentication {

    /** Binds the sealed vault key {@code brokerctl unlock} sends to its purpose. */
    static final byte[] UNLOCK_AAD = "brokerctl/v3 unlock: vault key".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final VaultHolder vault;
    private final SecureRandom random;
    private Handshake pending;
    private Handshake.Role proven;
    private byte[] unlockTransport;

    Authentication(VaultHolder vault, SecureRandom random) {
        this.vault = vault;
        this.random = random;
    }

    /** {@code handshake {role, client_nonce}} → {@code handshake_challenge {daemon_nonce, daemon_proof}}. */
    Message challenge(Message m) throws BrokerException {
        if (pending != null || proven != null) {
            throw new BrokerException(ErrorCode.BAD_REQUEST, "this connection has run its handshake already");
        }
        Handshake.Role role;
        byte[] clientNonce;
        try {
            role = Handshake.Role.fromWire(m.string("role"));
            clientNonce = Base64.getDecoder().decode(m.string("client_nonce"));
        } catch (IllegalArgumentException e) {
            throw new BrokerException(ErrorCode.BAD_REQUEST, "handshake: " + e.getMessage());
        }
        if (clientNonce.length != Handshake.NONCE_BYTES) {
            throw new BrokerException(ErrorCode.BAD_REQUEST, "handshake: client_nonce must be "
                    + Handshake.NONCE_BYTES + " bytes");
        }
        byte[] psk = switch (role) {
            case APPROVER -> {
                byte[] k = vault.approverKey();
                if (k == null) {
                    throw new BrokerException(ErrorCode.LOCKED, "the vault is locked, so this daemon holds no key"
                            + " to prove itself with; a human must run: brokerctl unlock");
                }
                yield k;
            }
            case UNLOCK -> {
                if (!vault.isLocked()) {
                    throw new BrokerException(ErrorCode.CONFLICT, "the vault is already unlocked");
                }
                byte[] v = vault.unlockVerifier();
                if (v == null) {
                    throw VaultHolder.neverHeldKey();
                }
                yield v;
            }
        };
        byte[] daemonNonce = Handshake.nonce(random);
        try {
            pending = Handshake.of(role, psk, clientNonce, daemonNonce);
        } finally {
            Arrays.fill(psk, (byte) 0);
        }
        Base64.Encoder b64 = Base64.getEncoder();
        return Message.of("handshake_challenge").with("daemon_nonce", b64.encodeToString(daemonNonce))
                .with("daemon_proof", b64.encodeToString(pending.daemonProof()));
    }

    /**
     * {@code handshake_finish {client_proof}}: the session keys when the proof is right.
     *
     * @throws BrokerException {@link ErrorCode#NOT_AUTHENTIC} when it is not (the connection ends)
     */
    Handshake.SessionKeys finish(Message m) throws BrokerException {
        Handshake h = pending;
        pending = null;
        if (h == null) {
            throw new BrokerException(ErrorCode.BAD_REQUEST, "handshake_finish without a handshake");
        }
        try {
            byte[] proof;
            try {
                proof = Base64.getDecoder().decode(m.string("client_proof"));
            } catch (IllegalArgumentException e) {
                proof = null;
            }
            if (!h.clientProofMatches(proof)) {
                throw new BrokerException(ErrorCode.NOT_AUTHENTIC, "the client's proof is wrong: it did not"
                        + " derive its key from this vault's key (another vault, or the wrong key)");
            }
            Handshake.SessionKeys keys = h.sessionKeys();
            proven = h.role();
            unlockTransport = keys.unlockTransport().clone();
            return keys;
        } finally {
            h.destroy();
        }
    }

    /** The role this connection proved, or null. */
    Handshake.Role proven() {
        return proven;
    }

    /** {@code unlock_key} and its (sealed) SECRET frame: the vault key, sealed once more for its purpose. */
    void unlock(byte[] sealedKey) throws BrokerException, VaultException {
        try {
            if (proven != Handshake.Role.UNLOCK || unlockTransport == null) {
                throw new BrokerException(ErrorCode.BAD_REQUEST, "unlock_key needs an 'unlock' handshake first");
            }
            vault.unlockWithSealedKey(unlockTransport, sealedKey, UNLOCK_AAD);
        } finally {
            Arrays.fill(sealedKey, (byte) 0);
            if (unlockTransport != null) {
                Arrays.fill(unlockTransport, (byte) 0);
                unlockTransport = null;
            }
        }
    }

    @Override
    public String toString() {
        return "Authentication[" + (proven == null ? "none" : proven.wire()) + "]";
    }
}

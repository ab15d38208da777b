package dev.brokerctl.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The mutual proof between a client and the daemon over a pre-shared key, in the style of the
 * TLS 1.3 PSK binder (RFC 8446 §4.2.11): HMAC-SHA256 over a hash of the whole transcript, under
 * keys expanded (HKDF, RFC 5869) from the PSK with a label per role. The PSK is never the
 * passphrase: it is derived from the vault's random key (the approver key, or the unlock
 * verifier), so nothing here lets anyone guess a passphrase.
 *
 * <pre>
 * client -> daemon   role, client_nonce (32 random bytes)
 * daemon -> client   daemon_nonce (32), daemon_proof = HMAC(K_daemon, TH1)
 * client -> daemon   client_proof = HMAC(K_client, TH2)          (only after daemon_proof verified)
 *
 * PRK      = HKDF-Extract(salt = "brokerctl/v3 handshake", PSK)
 * K_x      = HKDF-Expand(PRK, "brokerctl/v3 " + x, 32)   x in {daemon proof, client proof}
 * TH1      = SHA-256(lp(LABEL) | lp(role) | lp(client_nonce) | lp(daemon_nonce))
 * TH2      = SHA-256(TH1 | daemon_proof),  TH3 = SHA-256(TH2 | client_proof)
 * keys     = HKDF-Expand(PRK, "brokerctl/v3 client to daemon" | TH3, 32), "... daemon to client" | TH3,
 *            "brokerctl/v3 unlock transport" | TH3
 * lp(x)    = u16 big-endian length | x
 * </pre>
 *
 * No socket code: each side feeds in what it received and gets back what to send.
 */
public final class Handshake {

    /** What the proof is for; part of the transcript, so a proof for one role is no proof for another. */
    public enum Role {
        /** An approval console: the PSK is the approver key, the daemon must be unlocked. */
        APPROVER("approver"),
        /** {@code brokerctl unlock}: the PSK is the unlock verifier a locked daemon kept. */
        UNLOCK("unlock");

        private final String wire;

        Role(String wire) {
            this.wire = wire;
        }

        public String wire() {
            return wire;
        }

        public static Role fromWire(String s) {
            for (Role r : values()) {
                if (r.wire.equals(s)) {
                    return r;
                }
            }
            throw new IllegalArgumentException("unknown handshake role '" + s + "'");
        }
    }

    public static final String LABEL = "brokerctl/v3 handshake";
    public static final int NONCE_BYTES = 32;
    public static final int KEY_BYTES = 32;
    static final String DAEMON_PROOF = "brokerctl/v3 daemon proof";
    static final String CLIENT_PROOF = "brokerctl/v3 client proof";
    static final String CLIENT_TO_DAEMON = "brokerctl/v3 client to daemon";
    static final String DAEMON_TO_CLIENT = "brokerctl/v3 daemon to client";
    static final String UNLOCK_TRANSPORT = "brokerctl/v3 unlock transport";

    /** Keys for the sealed channel after the handshake, and the unlock transport key. */
    public record SessionKeys(byte[] clientToDaemon, byte[] daemonToClient, byte[] unlockTransport) {
        public void zero() {
            Arrays.fill(clientToDaemon, (byte) 0);
            Arrays.fill(daemonToClient, (byte) 0);
            Arrays.fill(unlockTransport, (byte) 0);
        }

        @Override
        public String toString() {
            return "SessionKeys[redacted]";
        }
    }

    private final Role role;
    private final byte[] prk;
    private final byte[] clientNonce;
    private final byte[] daemonNonce;
    private final byte[] th1;
    private final byte[] daemonProof;

    private Handshake(Role role, byte[] psk, byte[] clientNonce, byte[] daemonNonce) {
        if (clientNonce.length != NONCE_BYTES || daemonNonce.length != NONCE_BYTES) {
            throw new IllegalArgumentException("nonces are " + NONCE_BYTES + " bytes");
        }
        this.role = role;
        this.prk = hmac(LABEL.getBytes(StandardCharsets.US_ASCII), psk);
        this.clientNonce = clientNonce.clone();
        this.daemonNonce = daemonNonce.clone();
        this.th1 = sha256(lp(LABEL.getBytes(StandardCharsets.US_ASCII)), lp(role.wire.getBytes(StandardCharsets.US_ASCII)),
                lp(clientNonce), lp(daemonNonce));
        byte[] k = expand(prk, DAEMON_PROOF.getBytes(StandardCharsets.US_ASCII), KEY_BYTES);
        this.daemonProof = hmac(k, th1);
        Arrays.fill(k, (byte) 0);
    }

    /** A fresh nonce. */
    public static byte[] nonce(SecureRandom random) {
        byte[] n = new byte[NONCE_BYTES];
        random.nextBytes(n);
        return n;
    }

    /** The transcript so far, once both nonces are known; {@code psk} is not kept (only its PRK). */
    public static Handshake of(Role role, byte[] psk, byte[] clientNonce, byte[] daemonNonce) {
        return new Handshake(role, psk, clientNonce, daemonNonce);
    }

    public Role role() {
        return role;
    }

    /** What the daemon sends, and what the client checks before it sends anything of its own. */
    public byte[] daemonProof() {
        return daemonProof.clone();
    }

    /** True when {@code received} is this transcript's daemon proof (constant time). */
    public boolean daemonProofMatches(byte[] received) {
        return received != null && MessageDigest.isEqual(daemonProof, received);
    }

    private byte[] th2() {
        return sha256(th1, daemonProof);
    }

    /** What the client sends once the daemon's proof verified. */
    public byte[] clientProof() {
        byte[] k = expand(prk, CLIENT_PROOF.getBytes(StandardCharsets.US_ASCII), KEY_BYTES);
        try {
            return hmac(k, th2());
        } finally {
            Arrays.fill(k, (byte) 0);
        }
    }

    /** True when {@code received} is this transcript's client proof (constant time). */
    public boolean clientProofMatches(byte[] received) {
        return received != null && MessageDigest.isEqual(clientProof(), received);
    }

    /** The session keys, bound to the whole transcript (both nonces, both proofs). */
    public SessionKeys sessionKeys() {
        byte[] th3 = sha256(th2(), clientProof());
        return new SessionKeys(expand(prk, concat(CLIENT_TO_DAEMON.getBytes(StandardCharsets.US_ASCII), th3), KEY_BYTES),
                expand(prk, concat(DAEMON_TO_CLIENT.getBytes(StandardCharsets.US_ASCII), th3), KEY_BYTES),
                expand(prk, concat(UNLOCK_TRANSPORT.getBytes(StandardCharsets.US_ASCII), th3), KEY_BYTES));
    }

    /** Zeroes the PRK; call when the session keys were taken. */
    public void destroy() {
        Arrays.fill(prk, (byte) 0);
    }

    @Override
    public String toString() {
        return "Handshake[" + role.wire + "]";
    }

    // ------------------------------------------------------------------ primitives (JDK only)

    static byte[] hmac(byte[] key, byte[]... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            for (byte[] p : parts) {
                mac.update(p);
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
        }
    }

    /** HKDF-Expand (RFC 5869 §2.3) with HMAC-SHA256. */
    static byte[] expand(byte[] prk, byte[] info, int length) {
        if (length > 255 * 32) {
            throw new IllegalArgumentException("HKDF-Expand output too long");
        }
        byte[] out = new byte[length];
        byte[] t = new byte[0];
        int done = 0;
        for (int i = 1; done < length; i++) {
            t = hmac(prk, t, info, new byte[] {(byte) i});
            int n = Math.min(t.length, length - done);
            System.arraycopy(t, 0, out, done, n);
            done += n;
        }
        Arrays.fill(t, (byte) 0);
        return out;
    }

    static byte[] sha256(byte[]... parts) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                d.update(p);
            }
            return d.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private static byte[] lp(byte[] b) {
        return ByteBuffer.allocate(2 + b.length).putShort((short) b.length).put(b).array();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

package dev.brokerctl.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * One direction of an approver connection after the {@link Handshake}: every frame travels as a
 * {@link Frame#SEALED} frame, {@code u64 seq | AES-256-GCM(key, nonce = 0^4 | seq,
 * aad = direction label | seq, inner kind | inner payload)}. The key is this direction's session
 * key and the sequence number starts at 0 and counts every frame, so a frame that was rewritten,
 * replayed, reordered, dropped or sent the other way does not open. Everything is encrypted, so a
 * value a human provides is confidential as well; the inner kind (JSON or SECRET) too.
 */
public final class Sealed {

    public static final String CLIENT_TO_DAEMON = "brokerctl/v3 sealed client to daemon";
    public static final String DAEMON_TO_CLIENT = "brokerctl/v3 sealed daemon to client";
    /** seq, tag and inner kind: what sealing adds to a payload. */
    public static final int OVERHEAD = 8 + 16 + 1;

    /** A sealed frame did not open: it was altered, replayed or dropped on the way. */
    public static final class TamperedException extends java.io.IOException {
        public TamperedException(String message) {
            super(message);
        }
    }

    private final SecretKeySpec key;
    private final byte[] label;
    private long seq;

    /** @param key 32 bytes, copied; {@code direction} one of the two labels above */
    public Sealed(byte[] key, String direction) {
        this.key = new SecretKeySpec(key, "AES");
        this.label = direction.getBytes(StandardCharsets.US_ASCII);
    }

    /** Seals one frame; not thread-safe (callers hold their stream's lock). */
    public byte[] seal(byte kind, byte[] payload, int off, int len) {
        long n = seq++;
        byte[] plain = new byte[len + 1];
        plain[0] = kind;
        System.arraycopy(payload, off, plain, 1, len);
        try {
            Cipher c = cipher(Cipher.ENCRYPT_MODE, n);
            byte[] ct = c.doFinal(plain);
            return ByteBuffer.allocate(8 + ct.length).putLong(n).put(ct).array();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM failed", e);
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /** Opens the next sealed frame into the frame it carries. */
    public Frame open(Frame sealed) throws TamperedException {
        if (sealed.kind() != Frame.SEALED) {
            throw new TamperedException("an unsealed " + sealed + " arrived on a sealed connection");
        }
        byte[] p = sealed.payload();
        if (p.length < OVERHEAD) {
            throw new TamperedException("a sealed frame of " + p.length + " bytes is too short");
        }
        long n = ByteBuffer.wrap(p).getLong();
        if (n != seq) {
            throw new TamperedException("sealed frame number " + n + " arrived where " + seq
                    + " was due (replayed, reordered or dropped)");
        }
        byte[] plain;
        try {
            plain = cipher(Cipher.DECRYPT_MODE, n).doFinal(p, 8, p.length - 8);
        } catch (AEADBadTagException e) {
            throw new TamperedException("sealed frame number " + n + " failed its integrity check (altered)");
        } catch (GeneralSecurityException e) {
            throw new TamperedException("sealed frame number " + n + " did not open: " + e.getMessage());
        }
        seq++;
        byte[] inner = Arrays.copyOfRange(plain, 1, plain.length);
        byte kind = plain[0];
        Arrays.fill(plain, (byte) 0);
        return new Frame(kind, inner);
    }

    private Cipher cipher(int mode, long n) throws GeneralSecurityException {
        byte[] nonce = ByteBuffer.allocate(12).putInt(0).putLong(n).array();
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(mode, key, new GCMParameterSpec(128, nonce));
        c.updateAAD(label);
        c.updateAAD(ByteBuffer.allocate(8).putLong(n).array());
        return c;
    }

    @Override
    public String toString() {
        return "Sealed[" + new String(label, StandardCharsets.US_ASCII) + ", seq " + seq + "]";
    }
}

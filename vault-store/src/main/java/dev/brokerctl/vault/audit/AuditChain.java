package dev.brokerctl.vault.audit;

import dev.brokerctl.vault.crypto.HmacSha256;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The hash chain over the audit entries (used by {@code VaultSession}; not an API for other
 * modules). Entry {@code n} stores
 *
 * <pre>
 * mac_n = HMAC-SHA256(chain key, "brokerctl-audit-chain\0" | mac_(n-1) | n (8 bytes) | length(4) | stored ciphertext_n)
 * </pre>
 *
 * with {@code mac_0} = 32 zero bytes. The head, {@code (last n, mac_n)}, is sealed in the vault's
 * {@code meta} table, so an entry changed, moved, removed or cut off the end breaks the chain or
 * disagrees with the head. Verification needs only the chain key; the entries' own AES-GCM
 * (with the sequence number in the AAD) serves to say <em>what</em> is wrong.
 */
public final class AuditChain {

    public static final int MAC_BYTES = 32;
    private static final byte[] DOMAIN = "brokerctl-audit-chain\0".getBytes(StandardCharsets.US_ASCII);
    private static final String HEAD_PROBLEM = "the audit head is missing or was modified";

    private AuditChain() {
    }

    /** The MAC the first entry chains from. */
    public static byte[] zeroMac() {
        return new byte[MAC_BYTES];
    }

    /** The MAC of entry {@code seq} whose stored ciphertext is {@code ciphertext}. */
    public static byte[] link(byte[] chainKey, byte[] previousMac, long seq, byte[] ciphertext) {
        return HmacSha256.mac(chainKey, DOMAIN, previousMac,
                ByteBuffer.allocate(12).putLong(seq).putInt(ciphertext.length).array(), ciphertext);
    }

    /** The last sequence number and the last MAC; {@code (0, zero MAC)} for an empty log. */
    public record Head(long seq, byte[] mac) {

        public static Head genesis() {
            return new Head(0, zeroMac());
        }

        /** {@code seq(8) | mac(32)}: the plaintext that is sealed into {@code meta}. */
        public byte[] encode() {
            return ByteBuffer.allocate(8 + MAC_BYTES).putLong(seq).put(mac).array();
        }

        /** @throws IllegalArgumentException when {@code plain} is not a head */
        public static Head decode(byte[] plain) {
            if (plain.length != 8 + MAC_BYTES) {
                throw new IllegalArgumentException("an audit head is " + (8 + MAC_BYTES) + " bytes");
            }
            ByteBuffer buf = ByteBuffer.wrap(plain);
            long seq = buf.getLong();
            if (seq < 0) {
                throw new IllegalArgumentException("negative audit head");
            }
            return new Head(seq, Arrays.copyOfRange(plain, 8, plain.length));
        }

        @Override
        public String toString() {
            return "Head[" + seq + ", " + HexFormat.of().formatHex(mac, 0, 4) + "...]";
        }
    }

    /** One stored row, untrusted. */
    public record Row(long seq, byte[] ciphertext, byte[] mac) {
        @Override
        public String toString() {
            return "Row[" + seq + ", " + ciphertext.length + " bytes]";
        }
    }

    /** Does {@code ciphertext} decrypt as the entry with sequence number {@code seq}? */
    @FunctionalInterface
    public interface Opener {
        boolean opensAt(byte[] ciphertext, long seq);
    }

    /**
     * Walks {@code rows} (ascending by seq) from the zero MAC and compares the end with
     * {@code head}; reports the first problem.
     *
     * @param head the decrypted head, or null when it is missing or does not decrypt
     * @param opener trial decryption, used only to name a problem once the chain broke
     */
    public static AuditVerification verify(byte[] chainKey, List<Row> rows, Head head, Opener opener) {
        byte[] previous = zeroMac();
        long expected = 1;
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            if (row.seq() < expected) {
                return AuditVerification.broken(expected - 1, row.seq(), "entry " + row.seq()
                        + " does not belong in the audit log (sequence numbers start at 1)");
            }
            if (row.seq() > expected) {
                return AuditVerification.broken(expected - 1, expected,
                        missing(expected, row.seq() - 1, rows.subList(i, rows.size()), opener));
            }
            byte[] mac = link(chainKey, previous, row.seq(), row.ciphertext());
            if (row.mac() == null || !MessageDigest.isEqual(mac, row.mac())) {
                return AuditVerification.broken(expected - 1, expected, mismatch(row, rows, opener));
            }
            previous = row.mac();
            expected++;
        }
        long last = expected - 1;
        if (head == null) {
            return AuditVerification.broken(last, 0, HEAD_PROBLEM);
        }
        if (head.seq() > last) {
            return AuditVerification.broken(last, last + 1, (last == 0 ? "all entries are missing"
                    : "entries after " + last + " are missing") + " (head says " + head.seq() + ")");
        }
        if (head.seq() < last) {
            return AuditVerification.broken(head.seq(), 0, HEAD_PROBLEM + " (it ends at entry "
                    + head.seq() + "; the log goes on to " + last + ")");
        }
        if (!MessageDigest.isEqual(head.mac(), previous)) {
            return AuditVerification.broken(last, 0, HEAD_PROBLEM);
        }
        return AuditVerification.intact(last);
    }

    /** Entries {@code from..to} are absent: deleted, or renumbered to a later place. */
    private static String missing(long from, long to, List<Row> later, Opener opener) {
        for (Row r : later) {
            if (opener.opensAt(r.ciphertext(), from)) {
                return "entry " + from + " is out of order (it is stored as entry " + r.seq() + ")";
            }
        }
        return from == to ? "entry " + from + " is missing"
                : "entries " + from + " to " + to + " are missing";
    }

    /** The row is where it should be but does not chain: say whether it was edited, moved or copied. */
    private static String mismatch(Row row, List<Row> rows, Opener opener) {
        long p = row.seq();
        if (!opener.opensAt(row.ciphertext(), p)) {
            for (Row other : rows) {
                if (other.seq() != p && opener.opensAt(row.ciphertext(), other.seq())) {
                    return Arrays.equals(other.ciphertext(), row.ciphertext())
                            ? "entry " + p + " was overwritten with a copy of entry " + other.seq()
                            : "entry " + p + " is out of order (it holds entry " + other.seq() + ")";
                }
            }
        }
        return "entry " + p + " was modified";
    }
}

package dev.brokerctl.vault;

import dev.brokerctl.vault.audit.AuditChain;
import dev.brokerctl.vault.crypto.HmacSha256;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The sealed vault state of format 3: what the vault holds as a whole, so that rows cannot be
 * replayed, rolled back, re-inserted or dropped one by one.
 *
 * <pre>
 * tag(table, id, version) = HMAC-SHA256(state key, "brokerctl-item\0" | table(1) | id(8) | version(8))
 * state = counter(8) | for environment, variable: live rows(8) | XOR of their tags(32) | audit seq(8) | audit MAC(32)
 * </pre>
 *
 * sealed with AES-256-GCM under the state key in {@code meta 'vault_state'}. {@code counter} grows
 * by one with every committed write; the rows that write touches take it as their version, which
 * is bound into each of their ciphertexts' AAD. A row written back from an older copy decrypts
 * (its version column came with it), but its tag is not in the XOR; a deleted row put back adds a
 * tag; a dropped row removes one. Updates are O(1): XOR the old tag out and the new one in.
 * Whole-file rollback (every row and the state together) cannot be told from inside the file:
 * the daemon's high-water mark ({@code StateMark}) covers that.
 */
final class VaultState {

    static final byte ENVIRONMENT = 1;
    static final byte VARIABLE = 2;
    static final int ENCODED_BYTES = 8 + 2 * (8 + 32) + 8 + AuditChain.MAC_BYTES;
    private static final byte[] DOMAIN = "brokerctl-item\0".getBytes(StandardCharsets.US_ASCII);

    long counter;
    long environments;
    final byte[] environmentTags = new byte[32];
    long variables;
    final byte[] variableTags = new byte[32];
    long auditSeq;
    byte[] auditMac = AuditChain.zeroMac();

    VaultState copy() {
        VaultState c = new VaultState();
        c.counter = counter;
        c.environments = environments;
        System.arraycopy(environmentTags, 0, c.environmentTags, 0, 32);
        c.variables = variables;
        System.arraycopy(variableTags, 0, c.variableTags, 0, 32);
        c.auditSeq = auditSeq;
        c.auditMac = auditMac.clone();
        return c;
    }

    static byte[] tag(byte[] stateKey, byte table, long id, long version) {
        return HmacSha256.mac(stateKey, DOMAIN, ByteBuffer.allocate(17).put(table).putLong(id).putLong(version).array());
    }

    /** One HMAC instance keyed once, for tagging every row of the vault in a check. */
    static Mac tagger(byte[] stateKey) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(stateKey, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
    }

    /** Adds a live row ({@code add}) or removes one. */
    void toggle(byte[] stateKey, byte table, long id, long version, boolean add) {
        toggle(table, tag(stateKey, table, id, version), add);
    }

    /** As {@link #toggle(byte[], byte, long, long, boolean)} with a {@link #tagger}. */
    void toggle(Mac tagger, byte table, long id, long version, boolean add) {
        tagger.update(DOMAIN);
        tagger.update(ByteBuffer.allocate(17).put(table).putLong(id).putLong(version).array());
        toggle(table, tagger.doFinal(), add);
    }

    private void toggle(byte table, byte[] t, boolean add) {
        byte[] acc = table == ENVIRONMENT ? environmentTags : variableTags;
        for (int i = 0; i < 32; i++) {
            acc[i] ^= t[i];
        }
        long delta = add ? 1 : -1;
        if (table == ENVIRONMENT) {
            environments += delta;
        } else {
            variables += delta;
        }
    }

    byte[] encode() {
        return ByteBuffer.allocate(ENCODED_BYTES).putLong(counter).putLong(environments).put(environmentTags)
                .putLong(variables).put(variableTags).putLong(auditSeq).put(auditMac).array();
    }

    /** @throws IllegalArgumentException when {@code plain} is not a state */
    static VaultState decode(byte[] plain) {
        if (plain.length != ENCODED_BYTES) {
            throw new IllegalArgumentException("a vault state is " + ENCODED_BYTES + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(plain);
        VaultState s = new VaultState();
        s.counter = b.getLong();
        s.environments = b.getLong();
        b.get(s.environmentTags);
        s.variables = b.getLong();
        b.get(s.variableTags);
        s.auditSeq = b.getLong();
        s.auditMac = new byte[AuditChain.MAC_BYTES];
        b.get(s.auditMac);
        return s;
    }

    /** The AAD {@code extra} of an item sealed at {@code version}. */
    static byte[] versionBytes(long version) {
        return ByteBuffer.allocate(8).putLong(version).array();
    }

    @Override
    public String toString() {
        return "VaultState[counter " + counter + ", " + environments + " environments, " + variables
                + " variables, audit " + auditSeq + "]";
    }

    boolean sameTags(byte table, byte[] other) {
        return Arrays.equals(table == ENVIRONMENT ? environmentTags : variableTags, other);
    }
}

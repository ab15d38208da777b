package dev.brokerctl.vault;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Additional authenticated data that binds a ciphertext to its place: vault id, environment id,
 * item id, field and envelope version, and (format 3) the row's version in {@code extra}. A
 * ciphertext copied into another row or field, or into another vault, fails to decrypt; one
 * written back with its old version decrypts, and the sealed vault state refuses it.
 */
final class Aad {

    /** Fields a ciphertext can live in. */
    enum Field {
        KEYSLOT_KEY("keyslot.key"),
        ENVIRONMENT_NAME("environment.name"),
        ENVIRONMENT_POLICY("environment.policy"),
        VARIABLE_NAME("variable.name"),
        VARIABLE_META("variable.meta"),
        VARIABLE_VALUE("variable.value"),
        /** One audit log entry; the item id is its sequence number. */
        AUDIT_ENTRY("audit.entry"),
        /** The audit log's head (last sequence number and last chain MAC), in {@code meta}. */
        AUDIT_HEAD("audit.head"),
        /** The sealed vault state (format 3), in {@code meta}. */
        VAULT_STATE("vault.state");

        final String id;

        Field(String id) {
            this.id = id;
        }
    }

    private Aad() {
    }

    static byte[] of(byte[] vaultId, long environmentId, long itemId, Field field, byte[] extra) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(96);
        try (DataOutputStream out = new DataOutputStream(buf)) {
            out.write("brokerctl-aad".getBytes(StandardCharsets.US_ASCII));
            out.writeByte(dev.brokerctl.vault.crypto.AesGcm.ENVELOPE_VERSION);
            out.writeShort(vaultId.length);
            out.write(vaultId);
            out.writeLong(environmentId);
            out.writeLong(itemId);
            byte[] f = field.id.getBytes(StandardCharsets.US_ASCII);
            out.writeShort(f.length);
            out.write(f);
            byte[] x = extra == null ? new byte[0] : extra;
            out.writeInt(x.length);
            out.write(x);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return buf.toByteArray();
    }

    static byte[] of(byte[] vaultId, long environmentId, long itemId, Field field) {
        return of(vaultId, environmentId, itemId, field, null);
    }
}

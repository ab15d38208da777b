package dev.brokerctl.vault.audit;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The plaintext of one audit entry, before it is sealed (used by {@code VaultSession}; not an API
 * for other modules). Layout, big-endian:
 *
 * <pre>
 * layout(1) = 1 | time(8, epoch ms) | type(str, the AuditEvent name) | has-environment(1) [| environment(str)]
 * | count(2) | count x ( key(str) | tag(1) | value )
 * str = length(4) | UTF-8 bytes;  tag 'S': str;  'N': int64;  'L': items(4) | items x str
 * </pre>
 */
public final class AuditCodec {

    /** Layout version of the plaintext (inside the envelope, so authenticated). */
    public static final byte LAYOUT = 1;
    /** Largest encoded entry. */
    public static final int MAX_BYTES = 1024 * 1024;
    /** Longest environment name recorded (requests may name an environment that is not valid). */
    public static final int MAX_ENVIRONMENT_CHARS = 256;

    private static final byte STRING = 'S';
    private static final byte NUMBER = 'N';
    private static final byte LIST = 'L';

    private AuditCodec() {
    }

    /**
     * Encodes an entry; {@code details} must come from {@link AuditDetails#copyOf} or
     * {@link AuditDetails#of} (it is checked again here).
     *
     * @throws IllegalArgumentException on a refused detail, a too long environment or entry
     */
    public static byte[] encode(Instant time, AuditEvent type, String environment,
            Map<String, ?> details) {
        if (environment != null && (environment.isEmpty()
                || environment.length() > MAX_ENVIRONMENT_CHARS)) {
            throw new IllegalArgumentException("an audit entry's environment must be 1-"
                    + MAX_ENVIRONMENT_CHARS + " characters; got " + environment.length());
        }
        Map<String, Object> checked = AuditDetails.copyOf(details);
        ByteArrayOutputStream buf = new ByteArrayOutputStream(128);
        try (DataOutputStream out = new DataOutputStream(buf)) {
            out.writeByte(LAYOUT);
            out.writeLong(time.toEpochMilli());
            writeString(out, type.name());
            out.writeBoolean(environment != null);
            if (environment != null) {
                writeString(out, environment);
            }
            out.writeShort(checked.size());
            for (Map.Entry<String, Object> e : checked.entrySet()) {
                writeString(out, e.getKey());
                Object v = e.getValue();
                if (v instanceof String s) {
                    out.writeByte(STRING);
                    writeString(out, s);
                } else if (v instanceof Long n) {
                    out.writeByte(NUMBER);
                    out.writeLong(n);
                } else {
                    List<?> list = (List<?>) v;
                    out.writeByte(LIST);
                    out.writeInt(list.size());
                    for (Object item : list) {
                        writeString(out, (String) item);
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        if (buf.size() > MAX_BYTES) {
            throw new IllegalArgumentException("the audit entry is " + buf.size()
                    + " bytes encoded; the limit is " + MAX_BYTES);
        }
        return buf.toByteArray();
    }

    /**
     * Decodes what {@link #encode} wrote.
     *
     * @throws IllegalArgumentException saying what does not decode (a layout from a newer
     *     brokerctl, an unknown event, a malformed field); the message holds no entry content
     *     beyond an event name
     */
    public static AuditEntry decode(long seq, byte[] plain) {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(plain));
        try {
            byte layout = in.readByte();
            if (layout != LAYOUT) {
                throw new IllegalArgumentException("unknown entry layout " + layout
                        + " (written by a newer brokerctl?)");
            }
            Instant time = Instant.ofEpochMilli(in.readLong());
            String typeName = readString(in, plain.length);
            AuditEvent type;
            try {
                type = AuditEvent.valueOf(typeName);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown event type "
                        + (typeName.length() <= 40 ? typeName : typeName.substring(0, 40) + "...")
                        + " (written by a newer brokerctl?)");
            }
            String environment = in.readBoolean() ? readString(in, plain.length) : null;
            int count = in.readUnsignedShort();
            Map<String, Object> details = new LinkedHashMap<>();
            for (int i = 0; i < count; i++) {
                String key = AuditDetails.checkKey(readString(in, plain.length));
                byte tag = in.readByte();
                Object value = switch (tag) {
                    case STRING -> readString(in, plain.length);
                    case NUMBER -> in.readLong();
                    case LIST -> {
                        int n = in.readInt();
                        if (n < 0 || n > plain.length / 4) {
                            throw new IllegalArgumentException("malformed list length");
                        }
                        List<String> items = new ArrayList<>(n);
                        for (int j = 0; j < n; j++) {
                            items.add(readString(in, plain.length));
                        }
                        yield List.copyOf(items);
                    }
                    default -> throw new IllegalArgumentException("unknown detail tag " + tag);
                };
                if (details.put(key, value) != null) {
                    throw new IllegalArgumentException("detail " + key + " appears twice");
                }
            }
            if (in.available() != 0) {
                throw new IllegalArgumentException("trailing bytes after the entry");
            }
            return AuditEntry.of(seq, time, type, environment, details);
        } catch (EOFException e) {
            throw new IllegalArgumentException("the entry is cut short");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(DataInputStream in, int limit) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > limit) {
            throw new IllegalArgumentException("malformed string length");
        }
        byte[] b = new byte[n];
        in.readFully(b);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("a string is not valid UTF-8");
        }
    }
}

package dev.brokerctl.protocol;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;

/**
 * One unit on the broker socket: {@code u32 length | u8 kind | payload}, big-endian, where length
 * counts the kind byte and the payload. Control messages are JSON ({@link #JSON}); process output
 * and input travel as raw bytes so a gigabyte of output is not base64-encoded twice; secrets
 * (passphrases, values a human types) travel in {@link #SECRET} frames so they never become a
 * {@code String}.
 */
public record Frame(byte kind, byte[] payload) {

    public static final byte JSON = 'J';
    public static final byte STDOUT = 'O';
    public static final byte STDERR = 'E';
    public static final byte STDIN = 'I';
    public static final byte STDIN_EOF = 'Z';
    public static final byte SECRET = 'S';
    /** Any other frame, sealed under a session key after the handshake ({@link Sealed}). */
    public static final byte SEALED = 'X';

    /** Largest frame accepted in either direction (length field included). */
    public static final int MAX_FRAME_BYTES = 1024 * 1024;
    /** Largest payload of one data frame a writer produces. */
    public static final int MAX_DATA_CHUNK = 64 * 1024;
    /**
     * stdin bytes a client may send ahead of the daemon's {@code stdin_ack}: the daemon queues at
     * most this much for a command that does not read, and ends a run whose client sends more.
     */
    public static final int STDIN_WINDOW = 1024 * 1024;

    /** The peer sent a frame that is not one (bad length, unknown kind). */
    public static final class MalformedFrameException extends IOException {
        public MalformedFrameException(String message) {
            super(message);
        }
    }

    /** Reads one frame; null at a clean end of stream between frames. */
    public static Frame read(DataInputStream in) throws IOException {
        int first = in.read();
        if (first < 0) {
            return null;
        }
        return readRest(first, in);
    }

    /**
     * The rest of a frame whose first byte ({@code first}) was read already: a reader that
     * times frames starts the clock between the two. The payload grows as it arrives, in steps
     * of at most {@link #MAX_DATA_CHUNK}, so a peer that announces a large frame and sends it
     * slowly holds memory for what it sent, not for what it announced.
     */
    public static Frame readRest(int first, DataInputStream in) throws IOException {
        int length;
        try {
            length = (first << 24) | (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8)
                    | in.readUnsignedByte();
        } catch (EOFException e) {
            throw new MalformedFrameException("connection closed inside a frame");
        }
        checkLength(length);
        byte kind;
        try {
            kind = in.readByte();
        } catch (EOFException e) {
            throw new MalformedFrameException("connection closed inside a frame");
        }
        checkKind(kind);
        int size = length - 1;
        byte[] payload = new byte[Math.min(size, MAX_DATA_CHUNK)];
        int got = 0;
        try {
            while (got < size) {
                if (got == payload.length) {
                    byte[] old = payload;
                    payload = java.util.Arrays.copyOf(old, Math.min(size, old.length * 2));
                    java.util.Arrays.fill(old, (byte) 0);
                }
                in.readFully(payload, got, payload.length - got);
                got = payload.length;
            }
        } catch (EOFException e) {
            java.util.Arrays.fill(payload, (byte) 0);   // it may be part of a secret frame
            throw new MalformedFrameException("connection closed inside a frame");
        }
        return new Frame(kind, payload);
    }

    /** A length field outside 1..{@link #MAX_FRAME_BYTES}. */
    public static void checkLength(int length) throws MalformedFrameException {
        if (length < 1 || length > MAX_FRAME_BYTES) {
            throw new MalformedFrameException("frame of " + Integer.toUnsignedString(length)
                    + " bytes is outside 1.." + MAX_FRAME_BYTES);
        }
    }

    /** A kind byte that names no frame. */
    public static void checkKind(byte kind) throws MalformedFrameException {
        if (!known(kind)) {
            throw new MalformedFrameException("unknown frame kind 0x" + Integer.toHexString(kind & 0xff));
        }
    }

    /** Writes one frame; callers that share a stream between threads synchronize around it. */
    public static void write(OutputStream out, byte kind, byte[] payload, int off, int len)
            throws IOException {
        if (len + 1 > MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("frame payload of " + len + " bytes is too large");
        }
        int length = len + 1;
        byte[] header = {(byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8),
            (byte) length, kind};
        out.write(header);
        out.write(payload, off, len);
    }

    private static boolean known(byte kind) {
        return kind == JSON || kind == STDOUT || kind == STDERR || kind == STDIN || kind == STDIN_EOF
                || kind == SECRET || kind == SEALED;
    }

    /** Payloads may be secrets or process output: print the kind and length only. */
    @Override
    public String toString() {
        return "Frame[" + (char) kind + ", " + payload.length + " bytes]";
    }
}

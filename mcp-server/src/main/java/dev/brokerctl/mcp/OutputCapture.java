package dev.brokerctl.mcp;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * One stream of a run's (already masked) output, kept bounded: the first {@link #HEAD} bytes and
 * the last {@link #TAIL} bytes. An agent needs the start (what ran, the first error) and the end
 * (the summary, the exit reason); the middle of a huge log is what it can lose.
 */
final class OutputCapture {

    static final int HEAD = 16 * 1024;
    static final int TAIL = 48 * 1024;

    private final byte[] head = new byte[HEAD];
    private int headLength;
    private final byte[] tail = new byte[TAIL];
    /** Index in {@link #tail} where the next byte goes; the ring is full once {@link #tailLength} == TAIL. */
    private int tailNext;
    private int tailLength;
    private long total;

    synchronized void append(byte[] b, int off, int len) {
        total += len;
        int toHead = Math.min(len, HEAD - headLength);
        System.arraycopy(b, off, head, headLength, toHead);
        headLength += toHead;
        off += toHead;
        len -= toHead;
        if (len >= TAIL) {
            // only the last TAIL bytes of this chunk can survive
            off += len - TAIL;
            len = TAIL;
        }
        while (len > 0) {
            int n = Math.min(len, TAIL - tailNext);
            System.arraycopy(b, off, tail, tailNext, n);
            tailNext = (tailNext + n) % TAIL;
            tailLength = Math.min(TAIL, tailLength + n);
            off += n;
            len -= n;
        }
    }

    /** Bytes written so far, kept or not. */
    synchronized long totalBytes() {
        return total;
    }

    synchronized boolean truncated() {
        return total > HEAD + TAIL;
    }

    /**
     * The kept output as UTF-8 (malformed bytes become U+FFFD). When bytes were dropped, a marker
     * line says how many, and neither side of the cut shows half a character.
     */
    synchronized String text() {
        byte[] tailBytes = new byte[tailLength];
        int start = tailLength < TAIL ? 0 : tailNext;
        for (int i = 0; i < tailLength; i++) {
            tailBytes[i] = tail[(start + i) % TAIL];
        }
        if (!truncated()) {
            byte[] all = new byte[headLength + tailLength];
            System.arraycopy(head, 0, all, 0, headLength);
            System.arraycopy(tailBytes, 0, all, headLength, tailLength);
            return decode(all, 0, all.length);
        }
        int headEnd = completeEnd(head, headLength);
        int tailStart = firstCharStart(tailBytes);
        long omitted = total - HEAD - TAIL + (headLength - headEnd) + tailStart;
        return decode(head, 0, headEnd) + "\n[... brokerctl: " + omitted + " bytes of output omitted ...]\n"
                + decode(tailBytes, tailStart, tailBytes.length - tailStart);
    }

    /** Length of {@code b[0..len)} without a trailing, incomplete UTF-8 sequence. */
    private static int completeEnd(byte[] b, int len) {
        for (int back = 1; back <= 3 && back <= len; back++) {
            int c = b[len - back] & 0xff;
            if ((c & 0xc0) == 0x80) {
                continue;
            }
            int need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
            return need > back ? len - back : len;
        }
        return len;
    }

    /** Skips up to three continuation bytes: the rest of a character cut at the front. */
    private static int firstCharStart(byte[] b) {
        int i = 0;
        while (i < 3 && i < b.length && (b[i] & 0xc0) == 0x80) {
            i++;
        }
        return i;
    }

    private static String decode(byte[] b, int off, int len) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        try {
            CharBuffer chars = d.decode(ByteBuffer.wrap(b, off, len));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw new IllegalStateException("a replacing decoder reported " + e, e);
        }
    }

    /** Output may hold anything the command printed: print sizes only. */
    @Override
    public synchronized String toString() {
        return "OutputCapture[" + total + " bytes" + (truncated() ? ", truncated]" : "]");
    }
}

package dev.brokerctl.daemon;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One stream of a detached run's output, already masked (the runner masks before it writes
 * here), held in memory and addressed by byte offset from the start of the stream. Bounded: the
 * first {@link #HEAD_BYTES} and the last {@link #TAIL_BYTES} are kept; what falls between is
 * dropped and reported as skipped. Chunks are kept as they came (at most
 * {@link dev.brokerctl.protocol.Frame#MAX_DATA_CHUNK} each), so nothing is allocated ahead.
 */
final class RunOutput {

    static final int HEAD_BYTES = 1024 * 1024;
    static final int TAIL_BYTES = 7 * 1024 * 1024;

    private record Chunk(long start, byte[] bytes) {
        long end() {
            return start + bytes.length;
        }
    }

    private final List<Chunk> head = new ArrayList<>();
    private long headBytes;
    private final Deque<Chunk> tail = new ArrayDeque<>();
    private long tailBytes;
    private long total;
    private boolean discarded;

    synchronized void append(byte[] b, int off, int len) {
        if (len <= 0) {
            return;
        }
        if (discarded) {
            total += len;
            return;
        }
        if (headBytes < HEAD_BYTES) {
            int n = (int) Math.min(len, HEAD_BYTES - headBytes);
            head.add(new Chunk(total, java.util.Arrays.copyOfRange(b, off, off + n)));
            headBytes += n;
            total += n;
            off += n;
            len -= n;
        }
        if (len > 0) {
            tail.addLast(new Chunk(total, java.util.Arrays.copyOfRange(b, off, off + len)));
            tailBytes += len;
            total += len;
            while (tailBytes - tail.peekFirst().bytes().length >= TAIL_BYTES) {
                tailBytes -= tail.removeFirst().bytes().length;
            }
        }
    }

    /** Bytes written so far, kept or not. */
    synchronized long total() {
        return total;
    }

    /** Bytes held in memory. */
    synchronized long held() {
        return headBytes + tailBytes;
    }

    /** Drops what is held (the registry's memory cap); offsets and the total stay. */
    synchronized void discard() {
        discarded = true;
        head.clear();
        tail.clear();
        headBytes = 0;
        tailBytes = 0;
    }

    synchronized boolean discarded() {
        return discarded;
    }

    /**
     * A page of the stream for a reader, as a wire object: {@code text}, {@code offset} (where the
     * text starts), {@code next_offset} (pass it back to get only what is new), {@code total_bytes},
     * {@code truncated} (some bytes between {@code offset} and {@code total_bytes} are not in this
     * text) and {@code skipped_bytes} (bytes no longer held, or left out between head and tail).
     *
     * @param from null for a first look (head and tail of everything, at most {@code max} bytes);
     *     otherwise the bytes from this offset on, at most {@code max}
     */
    synchronized Map<String, Object> page(Long from, int max) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (from == null) {
            firstLook(m, max);
        } else {
            from(m, Math.max(0, Math.min(from, total)), max);
        }
        m.put("total_bytes", total);
        if (discarded) {
            m.put("discarded", true);
        }
        return m;
    }

    private void firstLook(Map<String, Object> m, int max) {
        if (discarded || total == 0) {
            m.put("text", "");
            m.put("offset", total);
            m.put("next_offset", total);
            m.put("truncated", total > 0);
            m.put("skipped_bytes", total);
            return;
        }
        if (total <= max) {   // max is below HEAD_BYTES: all of it is in the head
            byte[] all = bytes(0, total);
            m.put("text", decode(all, 0, all.length));
            m.put("offset", 0L);
            m.put("next_offset", total);
            m.put("truncated", false);
            m.put("skipped_bytes", 0L);
            return;
        }
        byte[] h = bytes(0, Math.min(max / 4, headEnd()));
        int hLen = completeEnd(h, h.length);
        long tailFrom = Math.max(total - (max - hLen), Math.max(hLen, heldSuffixStart()));
        byte[] t = bytes(tailFrom, total);
        int tStart = firstCharStart(t);
        long skipped = total - hLen - (t.length - tStart);
        m.put("text", decode(h, 0, hLen) + "\n[... brokerctl: " + skipped + " bytes left out here; read from"
                + " offset " + hLen + " to see them ...]\n" + decode(t, tStart, t.length - tStart));
        m.put("offset", 0L);
        m.put("next_offset", total);
        m.put("truncated", true);
        m.put("skipped_bytes", skipped);
    }

    private void from(Map<String, Object> m, long from, int max) {
        long start = Math.max(from, firstHeldAtOrAfter(from));
        long end = Math.min(total, endOfHeldRun(start, max));
        byte[] b = bytes(start, end);
        int len = end < total ? completeEnd(b, b.length) : b.length;
        if (len == 0 && b.length > 0) {
            len = b.length;   // a page smaller than one character: give the bytes
        }
        long next = start + len;
        m.put("text", decode(b, 0, len));
        m.put("offset", start);
        m.put("next_offset", next);
        m.put("truncated", next < total || start > from);
        m.put("skipped_bytes", start - from);
    }

    // ------------------------------------------------------------------ chunks

    private long headEnd() {
        return head.isEmpty() ? 0 : head.get(head.size() - 1).end();
    }

    /** Where the held bytes that end at {@code total} begin without a gap. */
    private long heldSuffixStart() {
        return contiguous() ? 0 : tail.peekFirst().start();
    }

    private long tailStartHeld() {
        return tail.isEmpty() ? total : tail.peekFirst().start();
    }

    private boolean contiguous() {
        return tail.isEmpty() || tail.peekFirst().start() == headEnd();
    }

    /** The first held offset at or after {@code from}; {@code total} when nothing is held there. */
    private long firstHeldAtOrAfter(long from) {
        if (from < headEnd()) {
            return from;
        }
        long t = tailStartHeld();
        return Math.max(from, t);
    }

    /** How far from {@code start} the held bytes run without a gap, at most {@code max} bytes. */
    private long endOfHeldRun(long start, int max) {
        long limit = start + max;
        if (start < headEnd()) {
            long end = headEnd();
            if (end == tailStartHeld()) {
                end = total;
            }
            return Math.min(limit, end);
        }
        return Math.min(limit, total);
    }

    private byte[] bytes(long from, long to) {
        int n = (int) Math.max(0, to - from);
        byte[] out = new byte[n];
        copy(head, from, to, out);
        copy(tail, from, to, out);
        return out;
    }

    private static void copy(Iterable<Chunk> chunks, long from, long to, byte[] out) {
        for (Chunk c : chunks) {
            long s = Math.max(from, c.start());
            long e = Math.min(to, c.end());
            if (s < e) {
                System.arraycopy(c.bytes(), (int) (s - c.start()), out, (int) (s - from), (int) (e - s));
            }
        }
    }

    // ------------------------------------------------------------------ UTF-8

    /** Length of {@code b[0..len)} without a trailing, incomplete UTF-8 sequence. */
    static int completeEnd(byte[] b, int len) {
        for (int back = 1; back <= 4 && back <= len; back++) {
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
    static int firstCharStart(byte[] b) {
        int i = 0;
        while (i < 3 && i < b.length && (b[i] & 0xc0) == 0x80) {
            i++;
        }
        return i;
    }

    static String decode(byte[] b, int off, int len) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE).decode(ByteBuffer.wrap(b, off, len)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalStateException("a replacing decoder reported " + e, e);
        }
    }

    /** Output is the command's: sizes only. */
    @Override
    public synchronized String toString() {
        return "RunOutput[" + total + " bytes, " + (headBytes + tailBytes) + " held]";
    }
}

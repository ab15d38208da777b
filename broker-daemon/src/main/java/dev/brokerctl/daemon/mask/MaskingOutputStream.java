package dev.brokerctl.daemon.mask;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Masks one output stream (stdout or stderr of a run) on its way to {@code downstream}.
 * Created by {@link Masker#wrap}; not thread-safe (one writer per stream).
 *
 * <p>Every write forwards at once all bytes that can no longer be part of a match, so output
 * stays live. It holds back only a possible partial match: fewer than
 * {@link Masker#longestPattern()} input bytes ({@link #pendingBytes()}). {@link #flush()} does
 * not release them, because they could still begin a pattern; {@link #finish()} (end of
 * output) does, and {@link #close()} finishes and closes {@code downstream}. Memory is a fixed
 * buffer of about {@code longestPattern + 8 KiB}, whatever the output size.
 *
 * <p>Output is the same whatever the chunking, and the same as {@link Masker#maskAll}.
 */
public final class MaskingOutputStream extends OutputStream {

    /** Input bytes scanned per round; bounds the buffer and the work between forwards. */
    static final int SLICE = 8192;

    private static final VarHandle BIG_ENDIAN_LONG =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private final Masker masker;
    private final OutputStream downstream;
    // Read once: the hot loop must not reload fields of another object per byte.
    private final int dense;
    private final int[] delta;
    private final int[] firstEdge;
    private final byte[] edgeLabel;
    private final int[] edgeTarget;
    private final int[] fail;
    private final int[] output;
    private final int[] liveDepth;
    private final int[] patternLength;
    private final long[] longFilter;
    private final int filterShift;
    private final long[] shortPrefixes;
    private final int shortStride;

    /** buf[start, len) is input not yet forwarded; buf[start, scan) has been scanned. */
    private final byte[] buf;
    private int start;
    private int scan;
    private int len;
    private int state;
    /** Best match so far (leftmost, then longest) not yet replaced: buf[candStart, candEnd). */
    private int candStart = -1;
    private int candEnd;
    private int candPattern;
    /** A possible match start the automaton is still tracking; no need to look for one before. */
    private int liveStart = -1;
    /** Cached long-filter answer: no match starts in [longFrom, longNext). */
    private int longFrom;
    private int longNext = -1;
    private long masked;
    private boolean finished;

    MaskingOutputStream(Masker masker, OutputStream downstream) {
        this.masker = masker;
        this.downstream = downstream;
        this.dense = masker.dense;
        this.delta = masker.delta;
        this.firstEdge = masker.firstEdge;
        this.edgeLabel = masker.edgeLabel;
        this.edgeTarget = masker.edgeTarget;
        this.fail = masker.fail;
        this.output = masker.output;
        this.liveDepth = masker.liveDepth;
        this.patternLength = masker.patternLength;
        this.longFilter = masker.longFilter;
        this.filterShift = masker.filterShift;
        this.shortPrefixes = masker.shortPrefixes;
        this.shortStride = masker.shortStride;
        // 8 spare bytes: a window is read as one long even when shorter than 8 bytes.
        this.buf = new byte[masker.longest + SLICE + Long.BYTES];
    }

    @Override
    public void write(int b) throws IOException {
        checkOpen();
        buf[len++] = (byte) b;
        scanAndForward();
    }

    @Override
    public void write(byte[] b, int off, int n) throws IOException {
        Objects.checkFromIndexSize(off, n, b.length);
        checkOpen();
        while (n > 0) {
            int k = Math.min(n, buf.length - Long.BYTES - len);
            System.arraycopy(b, off, buf, len, k);
            len += k;
            off += k;
            n -= k;
            scanAndForward();
        }
    }

    /** Flushes {@code downstream}; held-back bytes stay held (they may begin a pattern). */
    @Override
    public void flush() throws IOException {
        downstream.flush();
    }

    /**
     * Ends the output: replaces any pending match, forwards every held-back byte and flushes
     * {@code downstream} without closing it. Later writes fail; calling it again does nothing.
     */
    public void finish() throws IOException {
        if (finished) {
            return;
        }
        masker.checkAlive();
        scan();
        // No more input: a pending match is final. Rescanning after it may find more.
        while (candStart >= 0) {
            replaceCandidate();
            scan();
        }
        forward(len);
        finished = true;
        downstream.flush();
    }

    /** {@link #finish()}, then closes {@code downstream}. */
    @Override
    public void close() throws IOException {
        try {
            finish();
        } finally {
            downstream.close();
        }
    }

    /** Replacements made so far. */
    public long maskedCount() {
        return masked;
    }

    /** Input bytes written but not yet forwarded (a possible partial match). */
    public int pendingBytes() {
        return len - start;
    }

    /** Size of the internal buffer; fixed for the stream's life. */
    int bufferCapacity() {
        return buf.length;
    }

    @Override
    public String toString() {
        return "MaskingOutputStream[pending=" + (len - start) + " bytes, masked=" + masked
                + (finished ? ", finished" : "") + "]";
    }

    private void checkOpen() throws IOException {
        masker.checkAlive();
        if (finished) {
            throw new IOException("masking stream already finished");
        }
    }

    private void scanAndForward() throws IOException {
        scan();
        // Any match still to come starts within the last liveDepth bytes: the rest is safe.
        forward(len - liveDepth[state]);
        if (start > 0) {
            System.arraycopy(buf, start, buf, 0, len - start);
            len -= start;
            scan -= start;
            candStart -= candStart >= 0 ? start : 0;
            candEnd -= start;
            // Clamped, not just shifted: a long stream must not drift them into overflow.
            liveStart = Math.max(liveStart - start, -1);
            longFrom = Math.max(longFrom - start, 0);
            longNext = Math.max(longNext - start, -1);
            start = 0;
        }
    }

    /**
     * Runs the automaton over buf[scan, len), skipping text where no match can start.
     *
     * <p>The start filters ({@link #nextPossibleStart}) test windows with independent loads,
     * much cheaper per byte than the automaton's chain of dependent ones, and the long-pattern
     * filter looks at only every STRIDE-th position. So when no match is pending and every live
     * partial match is shorter than GRAM bytes (longer ones would pass a filter anyway), the
     * loop asks for the earliest possible start from the oldest live one, {@code i - liveDepth}.
     * At or beyond {@code i}: nothing in between can start a match, and the automaton restarts
     * from the root there. Before {@code i}: the automaton already tracks that start and
     * carries on; {@code live} remembers it so the question waits until it is no longer live.
     *
     * <p>Dense states are never accepting (a dense row leads at most DENSE_DEPTH + 1 < 4 deep,
     * shorter than any pattern), so their step is one table load. A candidate is replaced as
     * soon as no match starting at or before it can still appear; scanning then restarts from
     * the root just after it, rescanning fewer than longestPattern bytes.
     */
    private void scan() throws IOException {
        final byte[] buf = this.buf;
        final int[] delta = this.delta;
        final int[] liveDepth = this.liveDepth;
        final int dense = this.dense;
        final int n = len;
        int q = state;
        int i = scan;
        int live = liveStart;
        for (;;) {
            if (candStart < 0) {
                int d = liveDepth[q];
                if (d < Masker.GRAM && i - d > live) {
                    int p = nextPossibleStart(i - d, n);
                    if (p >= i) {
                        i = p;
                        q = 0;
                    }
                    live = p;
                }
            }
            if (i >= n) {
                break;
            }
            int b = buf[i++] & 0xFF;
            if (q < dense) {
                q = delta[(q << 8) | b];
                if (candStart < 0) {
                    continue;
                }
            } else {
                q = next(q, b, dense, delta, firstEdge, edgeLabel, edgeTarget, fail);
                int o = output[q];
                if (o >= 0) {
                    int s = i - patternLength[o];
                    // Same start and ending later means longer: prefer it too.
                    if (candStart < 0 || s <= candStart) {
                        candStart = s;
                        candEnd = i;
                        candPattern = o;
                    }
                }
                if (candStart < 0) {
                    continue;
                }
            }
            if (i - liveDepth[q] > candStart) {
                replaceCandidate();
                i = candEnd;
                q = 0;
            }
        }
        state = q;
        scan = i;
        liveStart = live;
    }

    /**
     * Earliest position at or after {@code from} where a match may start: the earlier of the
     * two filters' answers. Positions whose window is not complete in the buffer yet count as
     * possible starts.
     *
     * <p>The long filter's answer is cached as "no match starts in [longFrom, longNext)", which
     * stays true as bytes are appended. That keeps the work linear: the short scan below never
     * makes the long scan start over, and when a replacement sends the scan back to just before
     * longFrom, only the windows covering [from, longFrom) are tested.
     */
    private int nextPossibleStart(int from, int n) {
        if (from < longFrom || from > longNext) {
            boolean extend = from < longFrom && longFrom <= longNext;
            int bound = extend ? longFrom + Masker.STRIDE - 1 : Integer.MAX_VALUE;
            int p = nextLongWindow(from, n, bound);
            if (!(extend && p >= bound)) {
                longNext = Math.max(from, p - Masker.STRIDE + 1);
            }
            longFrom = from;
        }
        return shortPrefixes == null ? longNext : nextShortStart(from, longNext, n);
    }

    /**
     * The first of the windows at from, from + STRIDE, ... (below {@code bound}) that passes the
     * long filter or is not complete yet; a result p rules out starts before p - STRIDE + 1.
     */
    private int nextLongWindow(int from, int n, int bound) {
        final byte[] buf = this.buf;
        final long[] filter = this.longFilter;
        final int shift = this.filterShift;
        final int lastWhole = Math.min(n - Masker.GRAM, bound - 1);
        int p = from;
        for (; p <= lastWhole; p += Masker.STRIDE) {
            long h = Masker.filterHash((long) BIG_ENDIAN_LONG.get(buf, p));
            long bits = Masker.filterBits(h);
            if ((filter[(int) (h >>> shift)] & bits) == bits) {
                break;
            }
        }
        return p;
    }

    /**
     * Earliest possible start of a short pattern in [from, limit), else limit: tests the 2-byte
     * windows at from, from + shortStride, ... up to the last one that covers a start below
     * limit; the first that passes (or is incomplete) at p rules out starts before
     * p - shortStride + 1.
     */
    private int nextShortStart(int from, int limit, int n) {
        final byte[] buf = this.buf;
        final long[] prefixes = this.shortPrefixes;
        final int k = this.shortStride;
        final int last = Math.min(n - 2, limit + k - 2);
        int p = from;
        for (; p <= last; p += k) {
            int w = (buf[p] & 0xFF) << 8 | (buf[p + 1] & 0xFF);
            if ((prefixes[w >>> 6] & (1L << w)) != 0) {
                break;
            }
        }
        return Math.min(limit, Math.max(from, p - k + 1));
    }

    private void replaceCandidate() throws IOException {
        forward(candStart);
        downstream.write(masker.replacement[masker.patternName[candPattern]]);
        masked++;
        start = candEnd;
        scan = candEnd;
        state = 0;
        candStart = -1;
    }

    private void forward(int upTo) throws IOException {
        if (upTo > start) {
            downstream.write(buf, start, upTo - start);
            start = upTo;
        }
    }

    /** Aho-Corasick step: follow failure links until an edge on {@code b} or a dense state. */
    static int next(int q, int b, int dense, int[] delta, int[] firstEdge, byte[] edgeLabel,
            int[] edgeTarget, int[] fail) {
        while (q >= dense) {
            int lo = firstEdge[q];
            int hi = firstEdge[q + 1];
            if (hi - lo <= 8) {
                for (int e = lo; e < hi; e++) {
                    if ((edgeLabel[e] & 0xFF) == b) {
                        return edgeTarget[e];
                    }
                }
            } else {
                hi--;
                while (lo <= hi) {
                    int mid = (lo + hi) >>> 1;
                    int m = edgeLabel[mid] & 0xFF;
                    if (m < b) {
                        lo = mid + 1;
                    } else if (m > b) {
                        hi = mid - 1;
                    } else {
                        return edgeTarget[mid];
                    }
                }
            }
            q = fail[q];
        }
        return delta[(q << 8) | b];
    }
}

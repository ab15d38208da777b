package dev.brokerctl.daemon.mask;

import java.util.Arrays;
import java.util.List;

/**
 * Start gate of the decoded stage: decides from the raw output, at sparse sample points, where
 * the {@link EscapeView} must run at all. Ordinary output (log text, words and spaces) is
 * forwarded without building the view; only the stretches around a sample that passes are
 * decoded and scanned.
 *
 * <h2>Samples and what a decision proves</h2>
 * Samples are the raw positions {@code r} that are multiples of {@link #stride} (counted from
 * the start of the stream, so the decisions do not depend on how the output is chunked). A
 * sample is <em>clear</em> if:
 * <ul>
 * <li>no byte that may start an escape ({@code \ % '}) lies in the bytes the two grams below
 *     are read from or in the 11 bytes before them (an escape is at most 12 bytes long); and
 * <li>neither the <em>forward gram</em> (the first {@code g} view bytes at or after {@code r})
 *     nor the <em>backward gram</em> (the last {@code g} view bytes at or before {@code r}) is in
 *     the filter of all {@code g}-byte substrings of the decoded patterns, where {@code g} is
 *     {@value #LONG_GRAM} for patterns of at least {@value #LONG_FROM} bytes and
 *     {@value #SHORT_GRAM} for shorter ones (both are checked when both kinds exist).
 * </ul>
 * Without escapes nearby, the view around {@code r} is the raw bytes less the left-out ones, so
 * both grams are read straight from the raw bytes. A run of more than {@link EscapeView#MAX_GAP}
 * left-out bytes is a separator in the view: a gram across it is in no pattern, and a sample
 * inside one is clear.
 *
 * <p><b>No match contains a clear sample.</b> Say pattern P of length L occupies view bytes
 * [u, u + L) and its raw bytes contain r. With no escape near r, the first view byte at or after
 * r is P's byte j and the last one at or before r is P's byte j' >= j - 1. If j + g <= L the
 * forward gram is P[j, j + g); otherwise j' >= L - g >= g - 1 (as L >= 2g - 1) and the backward
 * gram is P[j' - g + 1, j' + 1). Either way a gram is a substring of P and passes the filter.
 *
 * <p><b>Every match contains a sample.</b> A pattern has at least {@link #stride} bytes, each
 * from at least one raw byte, so its raw bytes span at least {@code stride} positions.
 *
 * <p>So every match lies strictly between two consecutive clear samples, and leftmost-longest
 * matching on the whole view is the same as matching each stretch between clear samples on its
 * own (no escape straddles a clear sample, so each stretch decodes as it does in the whole). A
 * stretch whose samples inside are all clear is at most {@code stride - 1} bytes long and holds
 * no match: it is forwarded as it is.
 */
final class Gate {

    /**
     * Shortest decoded form for which the gate is used: a decision reads about 40 raw bytes and
     * samples are this far apart at most, so with shorter forms the view itself is cheaper.
     */
    static final int WORTH_FROM = 32;
    static final int LONG_GRAM = 8;
    static final int SHORT_GRAM = 4;
    /** Patterns at least this long are covered by 8-grams (2 * 8 - 1), shorter ones by 4-grams. */
    static final int LONG_FROM = 2 * LONG_GRAM - 1;
    /** Largest stride used; a smaller one than the shortest pattern is as sound. */
    static final int MAX_STRIDE = 64;
    /**
     * Raw bytes a decision reads from a sample on: a gap, 8 view bytes, 7 gaps between them
     * (each gap ends at its ninth byte).
     */
    static final int AHEAD = (LONG_GRAM + 1) * (EscapeView.MAX_GAP + 1);
    /** Raw bytes a decision reads before a sample: as many, and the start of an escape before. */
    static final int BACK = AHEAD + EscapeView.LONGEST_ESCAPE;

    /** 0: plain, 1: left out of the view, 2: may start an escape (EscapeView's classes). */
    private static final byte[] CLASS = new byte[256];

    static {
        for (char c : new char[] {' ', '\t', '\r', '\n', '+'}) {
            CLASS[c] = 1;
        }
        for (char c : new char[] {'\\', '%', '\''}) {
            CLASS[c] = 2;
        }
        if (EscapeView.LONGEST_ESCAPE - 1 > BACK) {
            throw new AssertionError("the escape check reaches past the history kept");
        }
    }

    /** Distance between samples: the shortest decoded pattern, at most MAX_STRIDE. */
    final int stride;
    private final long[] longFilter;
    private final int longShift;
    /** Null if no pattern is shorter than LONG_FROM. */
    private final long[] shortFilter;
    private final int shortShift;

    /** Builds the filters from the normalised decoded forms (each at least 8 bytes; only read). */
    Gate(List<byte[]> forms) {
        int shortest = Integer.MAX_VALUE;
        long longGrams = 0;
        long shortGrams = 0;
        for (byte[] f : forms) {
            shortest = Math.min(shortest, f.length);
            if (f.length >= LONG_FROM) {
                longGrams += f.length - LONG_GRAM + 1;
            } else {
                shortGrams += f.length - SHORT_GRAM + 1;
            }
        }
        if (shortest < SecretPatterns.MIN_ENCODED) {
            throw new IllegalArgumentException("decoded forms must have at least "
                    + SecretPatterns.MIN_ENCODED + " bytes");
        }
        this.stride = Math.min(shortest, MAX_STRIDE);
        this.longFilter = new long[words(longGrams)];
        this.longShift = 64 - Integer.numberOfTrailingZeros(longFilter.length);
        this.shortFilter = shortGrams == 0 ? null : new long[words(shortGrams)];
        this.shortShift = shortFilter == null ? 0 : 64 - Integer.numberOfTrailingZeros(shortFilter.length);
        for (byte[] f : forms) {
            if (f.length >= LONG_FROM) {
                long w = 0;
                for (int i = 0; i < f.length; i++) {
                    w = w << 8 | (f[i] & 0xFF);
                    if (i >= LONG_GRAM - 1) {
                        set(longFilter, longShift, w);
                    }
                }
            } else {
                long w = 0;
                for (int i = 0; i < f.length; i++) {
                    w = (w << 8 | (f[i] & 0xFF)) & 0xFFFF_FFFFL;
                    if (i >= SHORT_GRAM - 1) {
                        set(shortFilter, shortShift, w);
                    }
                }
            }
        }
    }

    /** About 16 bits per gram, a power of two words, at least 64. */
    private static int words(long grams) {
        int words = 64;
        while (words < (1 << 22) && words * 4L < grams) {
            words <<= 1;
        }
        return words;
    }

    private static void set(long[] filter, int shift, long gram) {
        long h = Automaton.filterHash(gram);
        filter[(int) (h >>> shift)] |= Automaton.filterBits(h);
    }

    private static boolean test(long[] filter, int shift, long gram) {
        long h = Automaton.filterHash(gram);
        long bits = Automaton.filterBits(h);
        return (filter[(int) (h >>> shift)] & bits) == bits;
    }

    long footprintBytes() {
        return 8L * longFilter.length + (shortFilter == null ? 0 : 8L * shortFilter.length);
    }

    void destroy() {
        Arrays.fill(longFilter, 0);
        if (shortFilter != null) {
            Arrays.fill(shortFilter, 0);
        }
    }

    /** Raw bytes of the branch-free windows that {@link #gather} tries first. */
    private static final int WINDOW = 16;
    /** Most samples decided in one {@link #decide} call. */
    static final int BATCH = 64;

    /** What {@link #gather} found at a sample: clear outright, may match, or grams to test. */
    static final int CLEAR = 0;
    static final int MAY = 1;
    private static final int FORWARD_LONG = 2;
    private static final int BACKWARD_LONG = 4;
    private static final int FORWARD_SHORT = 8;
    private static final int BACKWARD_SHORT = 16;

    /** Per-stream scratch space for {@link #decide} (a gate is shared by streams). */
    static final class Batch {
        final long[] forward = new long[BATCH];
        final long[] backward = new long[BATCH];
        final int[] found = new int[BATCH];
    }

    /**
     * Decides the samples {@code r0, r0 + stride, ...} ({@code count} of them, at most BATCH):
     * afterwards {@code batch.found[i]} is {@link #MAY} if a decoded match may contain sample i,
     * else {@link #CLEAR}. Gathers every sample's grams first and tests them after, so the
     * filter's cache misses overlap instead of coming one after the other.
     */
    void decide(byte[] in, int r0, int count, int end, boolean streamStart, Batch batch) {
        final long[] fw = batch.forward;
        final long[] bw = batch.backward;
        final int[] found = batch.found;
        for (int i = 0, r = r0; i < count; i++, r += stride) {
            found[i] = gather(in, r, end, streamStart, fw, bw, i);
        }
        final long[] lf = longFilter;
        final int ls = longShift;
        final long[] sf = shortFilter;
        final int ss = shortShift;
        for (int i = 0; i < count; i++) {
            int f = found[i];
            if (f <= MAY) {
                continue;
            }
            boolean may = (f & FORWARD_LONG) != 0 && test(lf, ls, fw[i])
                    || (f & BACKWARD_LONG) != 0 && test(lf, ls, bw[i]);
            if (!may && sf != null) {
                may = (f & FORWARD_SHORT) != 0 && test(sf, ss, fw[i] >>> 32)
                        || (f & BACKWARD_SHORT) != 0 && test(sf, ss, bw[i] & 0xFFFF_FFFFL);
            }
            found[i] = may ? MAY : CLEAR;
        }
    }

    /**
     * True if a byte that may start an escape lies in the 11 bytes before {@code in[k]}, or
     * if those bytes are not all there (history missing: the caller keeps BACK bytes).
     */
    private static boolean escapeBefore(byte[] in, int k, boolean streamStart) {
        int from = k - (EscapeView.LONGEST_ESCAPE - 1);
        if (from < 0 && !streamStart) {
            return true;
        }
        for (int j = Math.max(0, from); j < k; j++) {
            if (CLASS[in[j] & 0xFF] == 2) {
                return true;
            }
        }
        return false;
    }

    /** One sample's decision, for tests: true unless the sample at in[r] is clear. */
    boolean mayMatch(byte[] in, int r, int end, boolean streamStart) {
        Batch b = new Batch();
        decide(in, r, 1, end, streamStart, b);
        return b.found[0] == MAY;
    }

    /**
     * Reads the grams of the sample at {@code in[r]} into fw[i] (first byte highest; a forward
     * gram of 4 to 7 bytes is shifted up so that its first four bytes are the high half) and
     * bw[i] (last byte lowest). in[0] is the start of the stream if {@code streamStart}, else at
     * least BACK bytes before r; in[end] is the end of the stream, or at least AHEAD bytes
     * after r. Returns CLEAR, MAY, or which grams are complete.
     */
    private static int gather(byte[] in, int r, int end, boolean streamStart, long[] fws,
            long[] bws, int i) {
        return gather(in, r, end, streamStart, fws, bws, i, false);
    }

    /** {@link #gather}, or with {@code exactOnly} without the fast path (for tests). */
    static int gather(byte[] in, int r, int end, boolean streamStart, long[] fws,
            long[] bws, int i, boolean exactOnly) {
        final byte[] cls = CLASS;
        if (!exactOnly && r >= WINDOW + EscapeView.LONGEST_ESCAPE && r + WINDOW <= end) {
            // Without branches on the bytes (words and spaces alternate at random): each
            // 16-byte window either gives its gram or sends the sample to the exact loop below.
            long fw = 0;
            int fn = 0;
            int flags = 0;
            int run = 0;
            for (int k = r + WINDOW - 1; k >= r; k--) {
                int b = in[k] & 0xFF;
                int c = cls[b];
                int keep = (c - 1) >>> 31;
                int out = c & 1;
                run = (run + 1) * out;
                flags |= c & 2 | (EscapeView.MAX_GAP - run) >>> 31;
                fw = fw >>> (keep << 3) | ((long) b << 56) & -(long) keep;
                fn += keep;
            }
            long bw = 0;
            int bn = 0;
            run = 0;
            for (int k = r - WINDOW + 1; k <= r; k++) {
                int b = in[k] & 0xFF;
                int c = cls[b];
                int keep = (c - 1) >>> 31;
                int out = c & 1;
                run = (run + 1) * out;
                flags |= c & 2 | (EscapeView.MAX_GAP - run) >>> 31;
                bw = bw << (keep << 3) | b & -keep;
                bn += keep;
            }
            for (int k = r - WINDOW - EscapeView.LONGEST_ESCAPE + 2; k <= r - WINDOW; k++) {
                flags |= cls[in[k] & 0xFF] & 2;
            }
            if (flags == 0 && fn >= LONG_GRAM && bn >= LONG_GRAM) {
                fws[i] = fw;
                bws[i] = bw;
                return FORWARD_LONG | BACKWARD_LONG | FORWARD_SHORT | BACKWARD_SHORT;
            }
        }
        // Forward gram: up to 8 view bytes from r on.
        long fw = 0;
        int fn = 0;
        int gap = 0;
        int p = r;
        while (fn < LONG_GRAM && p < end) {
            int b = in[p++] & 0xFF;
            int c = cls[b];
            if (c == 0) {
                fw = fw << 8 | b;
                fn++;
                gap = 0;
            } else if (c == 2) {
                return MAY;
            } else if (++gap > EscapeView.MAX_GAP) {
                if (fn == 0) {
                    // r is inside a separator: no match spans it, unless an escape before r
                    // covers it ("\ " ends at r + 1): a stretch ended at r would then cut it
                    return escapeBefore(in, r, streamStart) ? MAY : CLEAR;
                }
                break;
            }
        }
        // Backward gram: up to 8 view bytes ending at r.
        long bw = 0;
        int bn = 0;
        gap = 0;
        p = r;
        while (bn < LONG_GRAM && p >= 0) {
            int b = in[p--] & 0xFF;
            int c = cls[b];
            if (c == 0) {
                bw |= (long) b << (8 * bn);
                bn++;
                gap = 0;
            } else if (c == 2) {
                return MAY;
            } else if (++gap > EscapeView.MAX_GAP) {
                if (bn == 0) {
                    return CLEAR;
                }
                break;
            }
        }
        // An escape that starts up to 11 bytes before a byte read may cover it (r included, so
        // the forward bytes too): the view there is not the raw bytes less the left-out ones.
        if (escapeBefore(in, p + 1, streamStart)) {
            return MAY;
        }
        fws[i] = fn == LONG_GRAM ? fw : fw << (8 * (LONG_GRAM - fn));
        bws[i] = bw;
        return (fn == LONG_GRAM ? FORWARD_LONG : 0) | (bn == LONG_GRAM ? BACKWARD_LONG : 0)
                | (fn >= SHORT_GRAM ? FORWARD_SHORT : 0) | (bn >= SHORT_GRAM ? BACKWARD_SHORT : 0);
    }
}

package dev.brokerctl.daemon.mask;

import java.util.Arrays;
import java.util.List;

/**
 * Start gate of the decoded stage: one pass over the raw output, a table load, a shift and a
 * store a byte, that decides where the {@link EscapeView} must run at all. Ordinary output (log
 * text, random bytes) is forwarded without building the view; only the stretches around a
 * <em>cut</em> the gate cannot clear are decoded and scanned.
 *
 * <h2>The compacted stream</h2>
 * The gate reads C: the view without its separators, i.e. the raw bytes less the left-out ones
 * (space, tab, CR, LF, {@code +}), with {@code %XX}, {@code \\X} (X not {@code u}) and the two
 * shell quote escapes decoded exactly as the decoder does ({@link #escape}, held to it by
 * GateTest). It keeps the last 8 bytes of C in one register {@code w}. Every 8th byte of C it
 * has stored {@code w} (a <em>slot</em>: slot k holds C[8k - 1, 8k + 7)) and where C[8k + 7]
 * starts in the raw bytes, and it tests each slot once: its 8 bytes against a Bloom filter of
 * every 8-byte substring of every decoded pattern, and if there are patterns under
 * {@value #LONG_FROM} bytes, its low and high 4 bytes against one of their 4-byte substrings.
 *
 * <p>The one escape it does not decode, {@code \\u}, marks the blocks of the C bytes it may
 * cover (12, counted from the backslash) <em>dirty</em>; block k is C[8k - 1, 8k + 7). Every
 * other byte of C is <em>clean</em>: the view reads it as C does. The gate stays in step with
 * the decoder, which reads left to right: both take an escape the gate decodes as one unit, and
 * the bytes of a {@code \\u} escape that the gate reads one by one are hex digits, {@code u} and
 * at most a second {@code \\u}, none of which start an escape the gate decodes.
 *
 * <h2>Cuts and what a clear cut proves</h2>
 * Cut k is where C[c] starts in the raw bytes, c = 8k + 7: the boundary between C[c - 1] and
 * C[c], always at the start of a unit (a plain byte or a whole escape). It is <em>clear</em> if
 * blocks k and k + 1 (C[c - 8, c + 8)) are clean, the backward gram C[c - 8, c) (slot k) and
 * the forward gram C[c, c + 8) (slot k + 1) are not in the long filter, and the short backward
 * and forward grams C[c - 4, c) and C[c, c + 4) are not in the short one.
 *
 * <p><b>No decoded match straddles a clear cut.</b> Around a clear cut the view is C[c - 8,
 * c + 8), with at most a separator (a space, in no pattern) where more than
 * {@link EscapeView#MAX_GAP} left-out bytes run. Say pattern P of length L matches the view
 * across the boundary. Its bytes next to the boundary are those C bytes, so in C's indexes it
 * occupies [u, u + L) with u &lt;= c - 1 and u + L &gt;= c + 1. If L &gt;= 15: either
 * u + L &gt;= c + 8 and the forward gram is a substring of P, or u + L &lt;= c + 7, so
 * u &lt;= c + 7 - L &lt;= c - 8 and the backward gram is (it lies in [u, c)). If
 * 8 &lt;= L &lt;= 14, the same with 4 bytes (L &gt;= 7 suffices). Either way a gram passes its
 * filter, so the cut is not clear. (Decoded patterns have at least
 * {@link SecretPatterns#MIN_ENCODED} bytes.)
 *
 * <p><b>Between two clear cuts next to each other there is no match.</b> The view between them
 * is 8 clean bytes of C (and maybe a separator); a pattern inside would be exactly those 8
 * bytes, the forward gram of the first cut, which every 8-gram of every pattern is in the long
 * filter for.
 *
 * <p>So the view can be cut at clear cuts: the stretch between two clear cuts next to each
 * other is forwarded as it is, every other stretch between clear cuts is decoded and scanned on
 * its own, with the result of the whole view (the decoder starts afresh at a cut in both, and
 * a stretch's end is a unit's end). Cut k is decided once slot k + 1 is complete, 8 to 15 bytes
 * of C later. The decisions depend only on the bytes of the stream, never on how it was
 * chunked: the pass carries {@code w} and its counters over.
 */
final class Gate {

    /** Shortest decoded form for which the gate is used: any (tests force it off to compare). */
    static final int WORTH_FROM = SecretPatterns.MIN_ENCODED;
    static final int LONG_GRAM = 8;
    static final int SHORT_GRAM = 4;
    /** Patterns at least this long are covered by 8-grams (2 * 8 - 1), shorter ones by 4-grams. */
    static final int LONG_FROM = 2 * LONG_GRAM - 1;
    /** Raw bytes one call of {@link #pass} reads at most; bounds the slots it makes. */
    static final int BATCH = 1024;
    /** Slots kept per stream: a batch's worth and the few before it that cuts still need. */
    private static final int RING = 256;
    private static final int MASK = RING - 1;
    /** Cuts one call of {@link #pass} decides at most. */
    static final int MAX_CUTS = BATCH / 8 + 2;

    /**
     * Per byte value, how far {@code w} shifts: 8 for a byte of C, 0 for a left-out one, 9 for
     * one that may start an escape (a byte of C too, looked at first). One table load, no branch
     * on the class: the pass's hot loop.
     */
    private static final byte[] SHIFT = new byte[256];
    /** The byte itself for a byte of C, 0 for a left-out one. */
    private static final long[] VALUE = new long[256];

    static {
        for (int b = 0; b < 256; b++) {
            SHIFT[b] = 8;
            VALUE[b] = b;
        }
        for (char c : new char[] {' ', '\t', '\r', '\n', '+'}) {
            SHIFT[c] = 0;
            VALUE[c] = 0;
        }
        for (char c : new char[] {'\\', '%', '\''}) {
            SHIFT[c] = 9;
        }
        if (BATCH / 8 + 8 > RING) {
            throw new AssertionError("a batch makes more slots than the ring keeps");
        }
    }

    private final long[] longFilter;
    /** Null if no pattern is shorter than LONG_FROM. */
    private final long[] shortFilter;

    /** Builds the filters from the normalised decoded forms (each at least 8 bytes; only read). */
    Gate(List<byte[]> forms) {
        int shortest = Integer.MAX_VALUE;
        long longGrams = 0;
        long shortGrams = 0;
        for (byte[] f : forms) {
            shortest = Math.min(shortest, f.length);
            longGrams += f.length - LONG_GRAM + 1;
            if (f.length < LONG_FROM) {
                shortGrams += f.length - SHORT_GRAM + 1;
            }
        }
        if (shortest < SecretPatterns.MIN_ENCODED) {
            throw new IllegalArgumentException("decoded forms must have at least "
                    + SecretPatterns.MIN_ENCODED + " bytes");
        }
        this.longFilter = new long[words(longGrams)];
        this.shortFilter = shortGrams == 0 ? null : new long[words(shortGrams)];
        for (byte[] f : forms) {
            // Every 8-gram of every pattern: a pattern of 8 to 14 bytes that lies between two
            // cuts is the forward gram of the first.
            long w = 0;
            for (int i = 0; i < f.length; i++) {
                w = w << 8 | (f[i] & 0xFF);
                if (i >= LONG_GRAM - 1) {
                    set(longFilter, w);
                }
                if (f.length < LONG_FROM && i >= SHORT_GRAM - 1) {
                    set(shortFilter, w & 0xFFFF_FFFFL);
                }
            }
        }
    }

    /**
     * {@value #BITS_PER_GRAM} bits per gram, at least 64 words: about 3 % false hits, and small
     * enough that a thousand values' filter stays in the caches.
     */
    private static int words(long grams) {
        return (int) Math.min(1 << 22, Math.max(64, (grams * BITS_PER_GRAM + 63) / 64));
    }

    static final int BITS_PER_GRAM = 12;

    /** The word of a gram: hash bits 40 and up scaled to the length, disjoint from the bits. */
    private static int word(long[] filter, long h) {
        return (int) (((h >>> 40) * filter.length) >>> 24);
    }

    private static void set(long[] filter, long gram) {
        long h = Automaton.filterHash(gram);
        filter[word(filter, h)] |= Automaton.filterBits(h);
    }

    private static boolean test(long[] filter, long gram) {
        long h = Automaton.filterHash(gram);
        long bits = Automaton.filterBits(h);
        return (filter[word(filter, h)] & bits) == bits;
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

    /**
     * One stream's gate: where the pass has got to, whether a stretch is being decoded, and the
     * starts and ends of stretches it found in its last call. (A gate is shared by the streams
     * of a run.) Positions are stream offsets.
     */
    static final class Pass {
        /** The last 8 bytes of C, the newest lowest. */
        private long w;
        /** Bytes of C so far, times 8; slot {@code n >>> 6} is being written. */
        private long n;
        /** Next cut to decide; first slot not tested yet. */
        private long next;
        private long tested;
        /** Bytes read so far, for the work count. */
        long bytes;
        private final long[] gram = new long[RING];
        /** Where C[8k + 7] is in the owner's buffer, by slot k. */
        private final int[] at = new int[RING];
        /** Filter hits of slot k: 1 its 8-gram, 2 its low 4 bytes, 4 its high 4 bytes. */
        private final byte[] hit = new byte[RING];
        private final boolean[] dirty = new boolean[RING];
        /** The last clear cut (the stream start before the first). */
        int lastClear;
        /**
         * A stretch is being decoded; it ends at the first clear cut at or after {@code minEnd}.
         * The owner sets both when it starts one itself (the undecided tail).
         */
        boolean open;
        int minEnd;
        /** Stretches found by the last call: a start (at the last clear cut) or an end. */
        final int[] eventAt = new int[MAX_CUTS];
        final boolean[] eventStart = new boolean[MAX_CUTS];
        int events;

        /** The owner dropped {@code drop} bytes from the front of its buffer. */
        void shift(int drop) {
            for (int i = 0; i < RING; i++) {
                at[i] -= drop;
            }
            lastClear -= drop;
            minEnd -= drop;
        }
    }

    /**
     * Reads {@code in[from, ...)}, at most {@link #BATCH} bytes and not past {@code end}, decides
     * the cuts that became decidable and records in {@code s} where stretches start and end.
     * Positions in {@code s} are indexes into {@code in}; {@code in[end]} is the end of what was
     * written so far, the end of the stream if {@code eof}. Without {@code eof} it stops before a
     * byte that may start an escape while the bytes that tell are not there yet. Returns where
     * it stopped.
     */
    int pass(byte[] in, int from, int end, boolean eof, Pass s) {
        final byte[] shifts = SHIFT;
        final long[] values = VALUE;
        final long[] gram = s.gram;
        final int[] at = s.at;
        final int stop = Math.min(end, from + BATCH);
        long w = s.w;
        long n = s.n;
        int p = from;
        for (; p < stop; p++) {
            int b = in[p] & 0xFF;
            int k = shifts[b];
            if (k > 8) {
                int e = escape(in, p, end, eof);
                if (e == WAIT) {
                    break;
                }
                if (e == DIRTY) {
                    // A backslash-u escape: C[i, i + 12) may be covered, so blocks
                    // (i + 1) / 8 to (i + 12) / 8.
                    long i = n >>> 3;
                    long last = (i + EscapeView.LONGEST_ESCAPE) >>> 3;
                    for (long blk = (i + 1) >>> 3; blk <= last; blk++) {
                        s.dirty[(int) blk & MASK] = true;
                    }
                } else if (e != PLAIN) {
                    // Decoded as the decoder does: the byte, or nothing if it is left out.
                    int d = e & 0xFF;
                    int width = e >>> 8;
                    k = shifts[d] == 0 ? 0 : 8;
                    w = w << k | values[d];
                    n += k;
                    int slot = (int) (n >>> 6) & MASK;
                    gram[slot] = w;
                    p += width - 1;
                    at[slot] = p + 1;
                    continue;
                }
                k = 8;
            }
            w = w << k | values[b];
            n += k;
            int slot = (int) (n >>> 6) & MASK;
            gram[slot] = w;
            at[slot] = p + 1;
        }
        s.w = w;
        s.n = n;
        s.bytes += p - from;
        decide(s);
        return p;
    }

    /** What {@link #escape} found: no escape, one the gate does not decode, wait for bytes. */
    static final int PLAIN = -1;
    static final int DIRTY = -2;
    static final int WAIT = -3;
    private static final byte[] QUOTE = {'\'', '\\', '\'', '\''};
    private static final byte[] QUOTE_DOUBLE = {'\'', '"', '\'', '"', '\''};

    /**
     * The escape at in[p] (a {@code \\ % '}) as the decoder reads it when it gets there fresh:
     * {@code width << 8 | byte} for {@code %XX}, {@code \\X} (X not {@code u}) and the two quote
     * escapes; DIRTY for {@code \\u} (whatever follows; the gate does not decode it); PLAIN if
     * the byte stands for itself; WAIT if the bytes that tell are not written yet. The rules are
     * {@link EscapeView}'s, byte for byte (GateTest holds them to it).
     */
    static int escape(byte[] in, int p, int end, boolean eof) {
        int b = in[p];
        if (b == '\\') {
            if (p + 1 >= end) {
                return eof ? PLAIN : WAIT;
            }
            int e = in[p + 1] & 0xFF;
            if (e == 'u') {
                return DIRTY;
            }
            int d = switch (e) {
                case 'n' -> '\n';
                case 't' -> '\t';
                case 'r' -> '\r';
                case 'b' -> '\b';
                case 'f' -> '\f';
                default -> e;
            };
            return 2 << 8 | d;
        }
        if (b == '%') {
            if (!eof && (p + 1 >= end || p + 2 >= end && isHex(in[p + 1]))) {
                return WAIT;
            }
            if (p + 2 < end && isHex(in[p + 1]) && isHex(in[p + 2])) {
                return 3 << 8 | hex(in[p + 1]) << 4 | hex(in[p + 2]);
            }
            return PLAIN;
        }
        if (!eof && (p + 4 > end && prefix(in, p, end, QUOTE)
                || p + 5 > end && prefix(in, p, end, QUOTE_DOUBLE))) {
            return WAIT;
        }
        if (p + 4 <= end && prefix(in, p, p + 4, QUOTE)) {
            return 4 << 8 | '\'';
        }
        if (p + 5 <= end && prefix(in, p, p + 5, QUOTE_DOUBLE)) {
            return 5 << 8 | '\'';
        }
        return PLAIN;
    }

    private static boolean prefix(byte[] in, int from, int to, byte[] escape) {
        for (int k = from; k < to; k++) {
            if (in[k] != escape[k - from]) {
                return false;
            }
        }
        return true;
    }

    private static int hex(int b) {
        return b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
    }

    private static boolean isHex(int b) {
        return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F';
    }

    /**
     * Tests the slots completed since the last call (in a loop of their own: the look-ups are
     * independent, so their cache misses overlap), decides every cut whose slot k + 1 is
     * complete, and follows the stretches: a cut that is not clear opens one at the last clear
     * cut, a clear cut at or after {@code minEnd} closes an open one.
     */
    private void decide(Pass s) {
        final long[] gram = s.gram;
        final byte[] hit = s.hit;
        final long[] lf = longFilter;
        final long[] sf = shortFilter;
        final long complete = s.n >>> 6;
        for (long j = s.tested; j < complete; j++) {
            int i = (int) j & MASK;
            long g = gram[i];
            int h = test(lf, g) ? 1 : 0;
            if (sf != null) {
                h |= (test(sf, g & 0xFFFF_FFFFL) ? 2 : 0) | (test(sf, g >>> 32) ? 4 : 0);
            }
            hit[i] = (byte) h;
        }
        s.tested = complete;
        final int[] at = s.at;
        final boolean[] dirty = s.dirty;
        boolean open = s.open;
        int minEnd = s.minEnd;
        int lastClear = s.lastClear;
        int events = 0;
        long k = s.next;
        for (; k + 1 < complete; k++) {
            int i = (int) k & MASK;
            int i1 = (int) (k + 1) & MASK;
            // Backward grams in slot k, forward ones in slot k + 1; blocks k and k + 1.
            boolean clear = ((hit[i] | hit[i1]) & 1 | hit[i] & 2 | hit[i1] & 4) == 0
                    && !(dirty[i] | dirty[i1]);
            dirty[i] = false; // cut k is the last that needs block k
            int r = at[i];
            if (clear) {
                if (open && r >= minEnd) {
                    s.eventAt[events] = r;
                    s.eventStart[events++] = false;
                    open = false;
                }
                lastClear = r;
            } else if (!open) {
                s.eventAt[events] = lastClear;
                s.eventStart[events++] = true;
                open = true;
                minEnd = lastClear;
            }
        }
        s.next = k;
        s.open = open;
        s.minEnd = minEnd;
        s.lastClear = lastClear;
        s.events = events;
    }
}

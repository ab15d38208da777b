package dev.brokerctl.daemon.mask;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Leftmost-longest, non-overlapping matching of one {@link Automaton} over a buffer that its owner
 * appends to: one per pattern set per stream. The owner writes bytes to {@code buf[len, ...)},
 * calls {@link #scan}, gets the replacements through its {@link Sink} in order, may drop every
 * byte before {@link #frontier()}, and calls {@link #finish} at end of input.
 *
 * <h2>Linear time</h2>
 * Nothing is scanned twice. Every match the automaton reports (the whole output chain at each
 * position, via {@link Automaton#nextOutput}) is recorded in {@code best[start]}, which keeps
 * the longest; a later match at the same start is always longer. Position p is final once no
 * match still to come can start at or before it ({@code p < i - liveDepth}); the frontier walks
 * over final positions once, replaces the longest match at the first one that has any and jumps
 * past it. So the work is one automaton step per byte (failure steps amortised, as in any
 * Aho-Corasick), one frontier step per byte, and one step per reported match: the number of
 * registered patterns that end at one position (patterns that are suffixes of each other;
 * 1–3 for real values) bounds it, not the pattern length. The old design restarted after a
 * replacement and rescanned up to the longest pattern's length each time: O(n · longest).
 *
 * <h2>Start filters</h2>
 * The filters ({@link #nextPossibleStart}) test windows with independent loads, much cheaper per
 * byte than the automaton's chain of dependent ones, and the long-pattern filter looks at only
 * every longStride-th position (8; 5 to 7 when every pattern is in it, see
 * {@link Automaton#longStride}). So when no match is recorded and every live partial match is shorter
 * than GRAM bytes (longer ones would pass a filter anyway), the loop asks for the earliest
 * possible start from the oldest live one, {@code i - liveDepth}. At or beyond {@code i}:
 * nothing in between can start a match, and the automaton restarts from the root there. Before
 * {@code i}: the automaton already tracks that start and carries on; {@code live} remembers it so
 * the question waits until it is no longer live.
 */
final class Scanner {

    /** Receives the chosen matches, left to right: buf[start, end) is pattern {@code pattern}. */
    interface Sink {
        void replace(int start, int end, int pattern) throws IOException;
    }

    private static final VarHandle BIG_ENDIAN_LONG =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    // Read once: the hot loop must not reload fields of another object per byte.
    private final int dense;
    private final int[] delta;
    private final int[] firstEdge;
    private final byte[] edgeLabel;
    private final int[] edgeTarget;
    private final int[] fail;
    private final int[] output;
    private final int[] nextOutput;
    private final int[] liveDepth;
    private final int[] patternLength;
    private final long[] longFilter;
    private final int filterShift;
    private final int longStride;
    private final long[] shortPrefixes;
    private final int shortStride;

    /** Input; 8 spare bytes at the end, since a window is read as one long. */
    final byte[] buf;
    /** buf[0, len) holds input; buf[0, scan) has been scanned. */
    int len;
    private int scan;
    private int state;
    /** Longest match starting at each position of [frontier, scan), or -1. */
    private final int[] best;
    /** Entries >= 0 in best. */
    private int recorded;
    /** Positions before it are final and handed over; no match starts before it any more. */
    private int frontier;
    /** A possible match start the automaton is still tracking; no need to look for one before. */
    private int liveStart = -1;
    /** Cached long-filter answer: no match starts in [longFrom, longNext). */
    private int longFrom;
    private int longNext = -1;
    /**
     * Work done so far, for tests of linearity: positions passed over, matches reported by the
     * automaton and frontier steps (failure-link steps are amortised within the positions).
     */
    long steps;

    Scanner(Automaton a, int capacity) {
        this.dense = a.dense;
        this.delta = a.delta;
        this.firstEdge = a.firstEdge;
        this.edgeLabel = a.edgeLabel;
        this.edgeTarget = a.edgeTarget;
        this.fail = a.fail;
        this.output = a.output;
        this.nextOutput = a.nextOutput;
        this.liveDepth = a.liveDepth;
        this.patternLength = a.patternLength;
        this.longFilter = a.longFilter;
        this.filterShift = a.filterShift;
        this.longStride = a.longStride;
        this.shortPrefixes = a.shortPrefixes;
        this.shortStride = a.shortStride;
        this.buf = new byte[capacity + Long.BYTES];
        this.best = new int[capacity];
        Arrays.fill(best, -1);
    }

    /** Room left for input in buf. */
    int room() {
        return best.length - len;
    }

    /** Every byte before this is final: replaced through the sink, or never part of a match. */
    int frontier() {
        return frontier;
    }

    /** Scans what was appended; replacements go to {@code sink}; the frontier moves up. */
    void scan(Sink sink) throws IOException {
        final byte[] buf = this.buf;
        final int[] delta = this.delta;
        final int[] liveDepth = this.liveDepth;
        final int dense = this.dense;
        final int n = len;
        int q = state;
        int i = scan;
        final int first = i;
        int live = liveStart;
        for (;;) {
            if (recorded == 0) {
                int d = liveDepth[q];
                if (d < Automaton.GRAM && i - d > live) {
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
                if (recorded == 0) {
                    continue;
                }
            } else {
                // No match to come starts before this (every live one is tracked by q).
                int bound = i - 1 - liveDepth[q];
                q = Automaton.next(q, b, dense, delta, firstEdge, edgeLabel, edgeTarget, fail);
                if (recorded == 0 && output[q] >= 0 && bound > frontier) {
                    // The first match after none: the frontier catches up here, not in
                    // advance() one position at a time from where the last scan left it.
                    frontier = bound;
                }
                for (int o = output[q]; o >= 0; o = nextOutput[o]) {
                    steps++;
                    int s = i - patternLength[o];
                    if (s >= frontier) {
                        if (best[s] < 0) {
                            recorded++;
                        }
                        best[s] = o;
                    }
                }
                if (recorded == 0) {
                    continue;
                }
            }
            if (i - liveDepth[q] > frontier) {
                advance(i - liveDepth[q], sink);
            }
        }
        state = q;
        steps += i - first;
        scan = i;
        liveStart = live;
        if (recorded == 0) {
            frontier = Math.max(frontier, i - liveDepth[q]);
        }
    }

    /** End of input: every recorded match is final. */
    void finish(Sink sink) throws IOException {
        scan(sink);
        advance(scan, sink);
        frontier = Math.max(frontier, scan);
        state = 0;
    }

    /** Walks the frontier up to {@code target}, replacing at the first position with a match. */
    private void advance(int target, Sink sink) throws IOException {
        int p = frontier;
        while (p < target && recorded > 0) {
            steps++;
            int o = best[p];
            if (o < 0) {
                p++;
                continue;
            }
            best[p] = -1;
            recorded--;
            int end = p + patternLength[o];
            for (int k = p + 1; k < end && recorded > 0; k++) {
                steps++;
                if (best[k] >= 0) {
                    best[k] = -1;
                    recorded--;
                }
            }
            sink.replace(p, end, o);
            p = end;
        }
        frontier = recorded == 0 ? Math.max(p, target) : p;
    }

    /** Drops buf[0, upTo), upTo at most the frontier; positions shift down by upTo. */
    void discard(int upTo) {
        if (upTo <= 0) {
            return;
        }
        System.arraycopy(buf, upTo, buf, 0, len - upTo);
        if (recorded > 0) {
            System.arraycopy(best, upTo, best, 0, scan - upTo);
            Arrays.fill(best, Math.max(scan - upTo, 0), scan, -1);
        }
        len -= upTo;
        scan -= upTo;
        frontier -= upTo;
        // Clamped, not just shifted: a long stream must not drift them into overflow.
        liveStart = Math.max(liveStart - upTo, -1);
        longFrom = Math.max(longFrom - upTo, 0);
        longNext = Math.max(longNext - upTo, -1);
    }

    /**
     * Earliest position at or after {@code from} where a match may start: the earlier of the
     * two filters' answers. Positions whose window is not complete in the buffer yet count as
     * possible starts.
     *
     * <p>The long filter's answer is cached as "no match starts in [longFrom, longNext)", which
     * stays true as bytes are appended, so the short scan below never makes the long scan start
     * over.
     */
    private int nextPossibleStart(int from, int n) {
        if (from < longFrom || from > longNext) {
            boolean extend = from < longFrom && longFrom <= longNext;
            int bound = extend ? longFrom + longStride - 1 : Integer.MAX_VALUE;
            int p = nextLongWindow(from, n, bound);
            if (!(extend && p >= bound)) {
                longNext = Math.max(from, p - longStride + 1);
            }
            longFrom = from;
        }
        return shortPrefixes == null ? longNext : nextShortStart(from, longNext, n);
    }

    /**
     * The first of the windows at from, from + longStride, ... (below {@code bound}) that passes
     * the long filter or is not complete yet; a result p rules out starts before
     * p - longStride + 1.
     */
    private int nextLongWindow(int from, int n, int bound) {
        final byte[] buf = this.buf;
        final long[] filter = this.longFilter;
        final int shift = this.filterShift;
        final int stride = this.longStride;
        final int lastWhole = Math.min(n - Automaton.GRAM, bound - 1);
        int p = from;
        for (; p <= lastWhole; p += stride) {
            long h = Automaton.filterHash((long) BIG_ENDIAN_LONG.get(buf, p));
            long bits = Automaton.filterBits(h);
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
}

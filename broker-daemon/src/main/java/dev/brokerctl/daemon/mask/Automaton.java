package dev.brokerctl.daemon.mask;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One compiled pattern set: a byte-level Aho-Corasick automaton and its two start filters.
 * {@link Masker} has two: raw forms matched on the output as it is, and decoded forms matched on
 * the {@link EscapeView} of it. Read directly by {@link Scanner}.
 *
 * <p>States of depth at most {@value #DENSE_DEPTH} have a full 256-entry transition row and come
 * first; deeper states are numbered in depth-first order, so each pattern's chain of states is
 * contiguous in memory, and keep sorted edge lists and a failure link. Memory is about 21 bytes
 * per distinct pattern byte; see {@link #footprintBytes()}.
 */
final class Automaton {

    /**
     * States of at most this depth get a dense transition row. Must stay below
     * {@code MIN_MASKED - 1} so that a dense row never leads to an accepting state.
     */
    static final int DENSE_DEPTH = 1;
    /** Window length of the long-pattern start filter. */
    static final int GRAM = 8;
    /** Distance between the windows a stream tests with the long-pattern filter. */
    static final int STRIDE = 8;
    /** Patterns at least this long go in the long filter; shorter ones in shortPrefixes. */
    static final int LONG_PATTERN = GRAM + STRIDE - 1;
    /**
     * If no pattern is shorter than this (but some are shorter than LONG_PATTERN), every pattern
     * goes in the long filter, tested at a shorter stride, and there is no short filter: one
     * pass over the text instead of two.
     */
    static final int ONE_FILTER_FROM = GRAM + 4;

    static {
        if (DENSE_DEPTH + 1 >= SecretPatterns.MIN_MASKED) {
            throw new AssertionError("dense rows would reach accepting states");
        }
    }

    /** Ids [0, dense) are exactly the states of depth <= DENSE_DEPTH. */
    final int dense;
    /** delta[(state << 8) | byte] for dense states: the full transition, failures folded in. */
    final int[] delta;
    /** Edges out of state q are [firstEdge[q], firstEdge[q + 1]), in ascending label order. */
    final int[] firstEdge;
    final byte[] edgeLabel;
    final int[] edgeTarget;
    final int[] fail;
    /** Id of the longest pattern that ends at this state (itself or via failure links), or -1. */
    final int[] output;
    /**
     * Depth of the deepest state on this state's failure chain (itself included) that has an
     * edge: every match still to come starts at most this many bytes back.
     */
    final int[] liveDepth;
    final int[] patternLength;
    /** Name index of each pattern. */
    final int[] patternName;
    /** Longest pattern that is a proper suffix of this one, or -1: the rest of the output chain. */
    final int[] nextOutput;
    final int longest;

    /**
     * Blocked Bloom filter over the {@value #GRAM}-byte windows at offsets 0 to
     * {@code longStride - 1} of every pattern of at least {@code GRAM + longStride - 1} bytes. A
     * match starting at s covers exactly one of any run of positions spaced longStride apart in
     * [s, s + longStride), and its window there is registered: testing every longStride-th
     * position misses no match.
     */
    final long[] longFilter;
    /**
     * {@value #STRIDE}, with patterns under {@link #LONG_PATTERN} bytes in shortPrefixes; or, when
     * the shortest pattern has L bytes, {@link #ONE_FILTER_FROM} <= L < LONG_PATTERN, L - GRAM + 1
     * with every pattern in longFilter and no shortPrefixes.
     */
    final int longStride;
    /** 64 minus log2 of longFilter's length: the hash's top bits pick the word. */
    final int filterShift;
    /**
     * Bit set of the 2-byte windows at offsets 0 to shortStride - 1 of each shorter pattern;
     * null if there is none. Same covering argument as longFilter, with 2-byte windows.
     */
    final long[] shortPrefixes;
    /** Shortest short pattern minus one, at most STRIDE. */
    final int shortStride;

    /** A pattern and whom it stands for; kind 0 (raw, line) is preferred over 1 (encoded). */
    record Pattern(byte[] bytes, int kind, int name) {
        @Override
        public String toString() {
            return "Pattern[" + bytes.length + " bytes, kind=" + kind + ", name=" + name + "]";
        }
    }

    /** Compiles {@code patterns} (zeroing their bytes); equal patterns are kept once. */
    Automaton(List<Pattern> patterns) {
        Builder b = new Builder(new ArrayList<>(patterns));
        this.dense = b.dense;
        this.delta = b.delta;
        this.firstEdge = b.firstEdge;
        this.edgeLabel = b.edgeLabel;
        this.edgeTarget = b.edgeTarget;
        this.fail = b.fail;
        this.output = b.output;
        this.liveDepth = b.liveDepth;
        this.patternLength = b.patternLength;
        this.patternName = b.patternName;
        this.nextOutput = b.nextOutput;
        this.longest = b.longest;
        this.longFilter = b.longFilter;
        this.filterShift = b.filterShift;
        this.longStride = b.longStride;
        this.shortPrefixes = b.shortPrefixes;
        this.shortStride = b.shortStride;
    }

    int patternCount() {
        return patternLength.length;
    }

    int stateCount() {
        return fail.length;
    }

    long footprintBytes() {
        return 4L * delta.length + 4L * firstEdge.length + 5L * edgeTarget.length
                + 12L * fail.length + 12L * patternLength.length + 8L * longFilter.length
                + (shortPrefixes == null ? 0 : 8L * shortPrefixes.length);
    }

    /** Zeroes every table that encodes a pattern. */
    void destroy() {
        Arrays.fill(delta, 0);
        Arrays.fill(firstEdge, 0);
        Arrays.fill(edgeLabel, (byte) 0);
        Arrays.fill(edgeTarget, 0);
        Arrays.fill(fail, 0);
        Arrays.fill(output, -1);
        Arrays.fill(nextOutput, -1);
        Arrays.fill(liveDepth, 0);
        Arrays.fill(patternLength, 0);
        Arrays.fill(longFilter, 0);
        if (shortPrefixes != null) {
            Arrays.fill(shortPrefixes, 0);
        }
    }

    /** Multiplicative hash of an 8-byte window read big-endian. */
    static long filterHash(long window) {
        return window * 0x9E3779B97F4A7C15L;
    }

    /**
     * The two bits a window sets in its word, from hash bits 26..37, disjoint from the word
     * index (bits 42 and up). Java masks a long shift count to its low 6 bits.
     */
    static long filterBits(long h) {
        return (1L << (h >>> 26)) | (1L << (h >>> 32));
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

    /** Builds the trie, its automaton tables and the start filters from the pattern list. */
    private static final class Builder {

        int dense;
        int[] delta;
        int[] firstEdge;
        byte[] edgeLabel;
        int[] edgeTarget;
        int[] fail;
        int[] output;
        int[] liveDepth;
        int[] patternLength;
        int[] patternName;
        int[] nextOutput;
        int longest;
        long[] longFilter;
        int filterShift;
        int longStride;
        long[] shortPrefixes;
        int shortStride;

        Builder(List<Pattern> all) {
            // Sorted, equal patterns are adjacent with the preferred attribution first, and
            // inserting them in order creates trie nodes in depth-first pre-order.
            all.sort((a, b) -> {
                int c = Arrays.compareUnsigned(a.bytes, b.bytes);
                if (c != 0) {
                    return c;
                }
                return a.kind != b.kind ? Integer.compare(a.kind, b.kind)
                        : Integer.compare(a.name, b.name);
            });
            List<Pattern> unique = new ArrayList<>(all.size());
            for (Pattern p : all) {
                if (!unique.isEmpty() && Arrays.equals(unique.get(unique.size() - 1).bytes, p.bytes)) {
                    Arrays.fill(p.bytes, (byte) 0);
                } else {
                    unique.add(p);
                }
            }
            try {
                buildStartFilters(unique);
                build(unique);
            } finally {
                for (Pattern p : unique) {
                    Arrays.fill(p.bytes, (byte) 0);
                }
            }
        }

        private void build(List<Pattern> patterns) {
            int count = patterns.size();
            long total = 1;
            patternLength = new int[count];
            patternName = new int[count];
            for (int i = 0; i < count; i++) {
                patternLength[i] = patterns.get(i).bytes.length;
                patternName[i] = patterns.get(i).name;
                longest = Math.max(longest, patternLength[i]);
                total += patternLength[i];
            }
            if (total > Integer.MAX_VALUE / 2) {
                throw new IllegalArgumentException("secret values too large to mask: "
                        + total + " pattern bytes");
            }

            // 1. The trie, nodes numbered in creation order (depth-first pre-order).
            int max = (int) total;
            byte[] lab = new byte[max];
            int[] par = new int[max];
            int[] dep = new int[max];
            int[] term = new int[max];
            Arrays.fill(term, -1);
            int[] path = new int[longest + 1];
            int nodes = 1;
            byte[] prev = new byte[0];
            for (int i = 0; i < count; i++) {
                byte[] p = patterns.get(i).bytes;
                int lcp = Math.max(0, Arrays.mismatch(prev, p));
                for (int d = lcp; d < p.length; d++) {
                    int node = nodes++;
                    lab[node] = p[d];
                    par[node] = path[d];
                    dep[node] = d + 1;
                    path[d + 1] = node;
                }
                term[path[p.length]] = i;
                prev = p;
            }

            // 2. Final ids: shallow states first, level by level; then the rest, still in
            // pre-order, so that each pattern's chain of deep states is contiguous in memory.
            int[] id = new int[nodes];
            int next = 0;
            for (int d = 0; d <= DENSE_DEPTH; d++) {
                for (int t = 0; t < nodes; t++) {
                    if (dep[t] == d) {
                        id[t] = next++;
                    }
                }
            }
            dense = next;
            for (int t = 0; t < nodes; t++) {
                if (dep[t] > DENSE_DEPTH) {
                    id[t] = next++;
                }
            }
            int[] parent = new int[nodes];
            int[] depth = new int[nodes];
            int[] terminal = new int[nodes];
            byte[] label = new byte[nodes];
            for (int t = 0; t < nodes; t++) {
                parent[id[t]] = id[par[t]];
                depth[id[t]] = dep[t];
                terminal[id[t]] = term[t];
                label[id[t]] = lab[t];
            }
            Arrays.fill(lab, (byte) 0);

            // 3. Edge lists by parent id; pre-order meets a node's children in label order.
            firstEdge = new int[nodes + 1];
            for (int q = 1; q < nodes; q++) {
                firstEdge[parent[q] + 1]++;
            }
            for (int q = 0; q < nodes; q++) {
                firstEdge[q + 1] += firstEdge[q];
            }
            edgeLabel = new byte[nodes - 1];
            edgeTarget = new int[nodes - 1];
            int[] fill = Arrays.copyOf(firstEdge, nodes);
            for (int t = 1; t < nodes; t++) {
                int q = id[t];
                int e = fill[parent[q]]++;
                edgeLabel[e] = label[q];
                edgeTarget[e] = q;
            }

            // 4. Failure links, outputs and dense rows, shallowest states first (a state's
            // failure target is shallower, so already done).
            int[] byDepth = new int[nodes];
            int[] depthStart = new int[longest + 2];
            for (int q = 0; q < nodes; q++) {
                depthStart[depth[q] + 1]++;
            }
            for (int d = 0; d <= longest; d++) {
                depthStart[d + 1] += depthStart[d];
            }
            for (int q = 0; q < nodes; q++) {
                byDepth[depthStart[depth[q]]++] = q;
            }
            fail = new int[nodes];
            output = new int[nodes];
            liveDepth = new int[nodes];
            delta = new int[dense << 8];
            for (int q : byDepth) {
                if (q != 0) {
                    fail[q] = parent[q] == 0 ? 0 : Automaton.next(fail[parent[q]],
                            label[q] & 0xFF, dense, delta, firstEdge, edgeLabel, edgeTarget, fail);
                }
                output[q] = terminal[q] >= 0 ? terminal[q] : q == 0 ? -1 : output[fail[q]];
                boolean hasEdge = firstEdge[q + 1] > firstEdge[q];
                liveDepth[q] = hasEdge || q == 0 ? depth[q] : liveDepth[fail[q]];
                if (q < dense) {
                    int row = q << 8;
                    if (q != 0) {
                        System.arraycopy(delta, fail[q] << 8, delta, row, 256);
                    }
                    for (int e = firstEdge[q]; e < firstEdge[q + 1]; e++) {
                        delta[row | (edgeLabel[e] & 0xFF)] = edgeTarget[e];
                    }
                }
            }
            nextOutput = new int[count];
            for (int q = 0; q < nodes; q++) {
                if (terminal[q] >= 0) {
                    nextOutput[terminal[q]] = q == 0 ? -1 : output[fail[q]];
                }
            }
            Arrays.fill(label, (byte) 0);
        }

        /** About 16 bits per window: ~1.5% false hits, a few hundred KiB for 1000 values. */
        private void buildStartFilters(List<Pattern> patterns) {
            int shortest = Integer.MAX_VALUE;
            for (Pattern p : patterns) {
                shortest = Math.min(shortest, p.bytes.length);
            }
            longStride = shortest >= ONE_FILTER_FROM && shortest < LONG_PATTERN
                    ? shortest - GRAM + 1 : STRIDE;
            // Patterns long enough for the long filter at its stride.
            final int longFrom = GRAM + longStride - 1;
            long windows = 0;
            shortStride = STRIDE;
            for (Pattern p : patterns) {
                if (p.bytes.length >= longFrom) {
                    windows += longStride;
                } else {
                    shortStride = Math.min(shortStride, p.bytes.length - 1);
                }
            }
            for (Pattern p : patterns) {
                for (int o = 0; p.bytes.length < longFrom && o < shortStride; o++) {
                    if (shortPrefixes == null) {
                        shortPrefixes = new long[1024];
                    }
                    int w = (p.bytes[o] & 0xFF) << 8 | (p.bytes[o + 1] & 0xFF);
                    shortPrefixes[w >>> 6] |= 1L << w;
                }
            }
            int words = 64;
            while (words < (1 << 22) && words * 4L < windows) {
                words <<= 1;
            }
            longFilter = new long[words];
            filterShift = 64 - Integer.numberOfTrailingZeros(words);
            for (Pattern p : patterns) {
                for (int o = 0; p.bytes.length >= longFrom && o < longStride; o++) {
                    long window = 0;
                    for (int j = 0; j < GRAM; j++) {
                        window = window << 8 | (p.bytes[o + j] & 0xFF);
                    }
                    long h = filterHash(window);
                    longFilter[(int) (h >>> filterShift)] |= filterBits(h);
                }
            }
        }
    }
}

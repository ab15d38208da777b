package dev.brokerctl.daemon.mask;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Replaces secret values, and common encodings of them, in a program's output with
 * {@code [MASKED:NAME]}. Compiled once per run; each output stream (stdout, stderr) gets its
 * own {@link MaskingOutputStream} from {@link #wrap}.
 *
 * <pre>
 * Masker masker = Masker.compile(Map.of("TOKEN", tokenBytes));
 * masker.unmaskedShortValueNames();         // warn the human about these
 * MaskingOutputStream out = masker.wrap(stdoutSink);
 * MaskingOutputStream err = masker.wrap(stderrSink);
 * // ... pump the child's stdout into out and its stderr into err ...
 * out.close();                              // end of output releases held-back bytes
 * err.close();
 * out.maskedCount() + err.maskedCount();    // "N values were masked"
 * masker.destroy();                         // when the run ends
 * </pre>
 *
 * <h2>Patterns</h2>
 * For each value of at least 4 bytes: the raw bytes and each line of a multi-line value
 * ({@code \n} or {@code \r\n}; lines under 4 bytes skipped). For values of at least 8 bytes
 * also: base64 standard and url-safe at the three alignments the value can have inside a 3-byte
 * group, each cut to the characters fixed by the value alone, plus the longer forms with the last
 * partial character and padding that appear when the value ends the encoded input; hex lower and
 * upper; percent-encoding (every byte but RFC 3986 unreserved, upper- and lower-case hex); the
 * JSON string body (with and without the optional {@code \/}, either hex case in the escapes of
 * control characters). Values under 4 bytes are not masked and are listed by
 * {@link #unmaskedShortValueNames()} so the caller can warn the human. Duplicate patterns are
 * kept once, attributed to a raw or line pattern before an encoded one, then to the name that
 * sorts first.
 *
 * <h2>Matching</h2>
 * Leftmost-longest, non-overlapping: among the matches starting at the leftmost position the
 * longest one is replaced, and matching resumes after it. The result does not depend on how
 * the output is chunked: a stream gives the same bytes as {@link #maskAll}. Two limits follow
 * from the rule: where two values overlap in the output (the tail of one is the head of the
 * other) the second one's remainder is not masked; and replacement text is not rescanned, so a
 * value that occurs inside {@code [MASKED:NAME]} (say, equal to its own name) shows there.
 * Masking prevents accidents; it is not a boundary against a hostile command.
 *
 * <h2>Automaton</h2>
 * Byte-level Aho-Corasick over all patterns. States of depth at most {@value #DENSE_DEPTH}
 * have a full 256-entry transition row and come first; deeper states are numbered in
 * depth-first order, so each pattern's chain of states is contiguous in memory, and keep
 * sorted edge lists and a failure link. In front of it, two start filters (see
 * {@link MaskingOutputStream}) let a stream skip text where no pattern can start, so the
 * automaton runs only in short bursts on ordinary output. Memory is about 21 bytes per
 * distinct pattern byte; see {@link #footprintBytes()}.
 *
 * <h2>Threads and secrets</h2>
 * Immutable after {@link #compile} and safe to share between threads; a
 * {@link MaskingOutputStream} is for one thread. No {@code toString} prints a value or pattern
 * and no exception carries pattern bytes. {@link #destroy()} zeroes the automaton and filters
 * (best effort: the garbage collector may have copied arrays, and callers own the arrays they
 * passed in).
 */
public final class Masker {

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

    static {
        if (DENSE_DEPTH + 1 >= SecretPatterns.MIN_MASKED) {
            throw new AssertionError("dense rows would reach accepting states");
        }
    }

    // Automaton, indexed by state id (0 = root). Read directly by MaskingOutputStream.
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
    final int[] patternName;
    /** {@code [MASKED:NAME]} as UTF-8, by name index. */
    final byte[][] replacement;
    final int longest;

    /**
     * Blocked Bloom filter over the {@value #GRAM}-byte windows at offsets 0 to
     * {@value #STRIDE} - 1 of every pattern of at least {@link #LONG_PATTERN} bytes. A match
     * starting at s covers exactly one of any run of positions spaced STRIDE apart in
     * [s, s + STRIDE), and its window there is registered: testing every STRIDE-th position
     * misses no match.
     */
    final long[] longFilter;
    /** 64 minus log2 of longFilter's length: the hash's top bits pick the word. */
    final int filterShift;
    /**
     * Bit set of the 2-byte windows at offsets 0 to shortStride - 1 of each shorter pattern;
     * null if there is none. Same covering argument as longFilter, with 2-byte windows.
     */
    final long[] shortPrefixes;
    /** Shortest short pattern minus one, at most STRIDE. */
    final int shortStride;

    private final List<String> shortNames;
    private volatile boolean destroyed;

    private Masker(Builder b, List<String> shortNames) {
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
        this.replacement = b.replacement;
        this.longest = b.longest;
        this.longFilter = b.longFilter;
        this.filterShift = b.filterShift;
        this.shortPrefixes = b.shortPrefixes;
        this.shortStride = b.shortStride;
        this.shortNames = List.copyOf(shortNames);
    }

    /**
     * Compiles the patterns for {@code secrets} (name to value). The map and its arrays are only
     * read; the caller still owns, and should zero, the values.
     */
    public static Masker compile(Map<String, byte[]> secrets) {
        // Sorted names give a stable attribution when two names produce the same pattern.
        TreeMap<String, byte[]> sorted = new TreeMap<>();
        for (Map.Entry<String, byte[]> e : secrets.entrySet()) {
            sorted.put(Objects.requireNonNull(e.getKey(), "secret name"),
                    Objects.requireNonNull(e.getValue(), "value of secret " + e.getKey()));
        }
        List<String> names = new ArrayList<>(sorted.keySet());
        List<String> shortNames = new ArrayList<>();
        List<Builder.Pattern> patterns = new ArrayList<>();
        int nameIndex = 0;
        for (byte[] value : sorted.values()) {
            if (value.length < SecretPatterns.MIN_MASKED) {
                shortNames.add(names.get(nameIndex));
            }
            for (byte[] p : SecretPatterns.rawAndLines(value)) {
                patterns.add(new Builder.Pattern(p, 0, nameIndex));
            }
            for (byte[] p : SecretPatterns.encodings(value)) {
                if (Arrays.equals(p, value)) {
                    Arrays.fill(p, (byte) 0);
                } else {
                    patterns.add(new Builder.Pattern(p, 1, nameIndex));
                }
            }
            nameIndex++;
        }
        return new Masker(new Builder(patterns, names), shortNames);
    }

    /** Names whose values are shorter than 4 bytes and therefore not masked, sorted. */
    public List<String> unmaskedShortValueNames() {
        return shortNames;
    }

    /** Distinct patterns registered. */
    public int patternCount() {
        return patternLength.length;
    }

    /** Length of the longest pattern in bytes (0 if none); a stream holds back fewer bytes. */
    public int longestPattern() {
        return longest;
    }

    /** Approximate heap held by the compiled automaton and filters, in bytes. */
    public long footprintBytes() {
        long bytes = 4L * delta.length + 4L * firstEdge.length + 5L * edgeTarget.length
                + 12L * fail.length + 8L * patternLength.length + 8L * longFilter.length
                + (shortPrefixes == null ? 0 : 8L * shortPrefixes.length);
        for (byte[] r : replacement) {
            bytes += r.length + 16;
        }
        return bytes;
    }

    /** Number of automaton states (for sizing reports). */
    int stateCount() {
        return fail.length;
    }

    /** A masking stream in front of {@code downstream}; one per output stream. */
    public MaskingOutputStream wrap(OutputStream downstream) {
        checkAlive();
        return new MaskingOutputStream(this, Objects.requireNonNull(downstream, "downstream"));
    }

    /** Masks a whole buffer at once; the same bytes any chunking of it through a stream gives. */
    public byte[] maskAll(byte[] whole) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(whole.length + 64);
        try (MaskingOutputStream s = wrap(out)) {
            s.write(whole);
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory failed", e);
        }
        return out.toByteArray();
    }

    /**
     * Zeroes the automaton and filters, which encode every pattern, and makes this masker and
     * its streams unusable. Call when the run ends, after the streams have finished. Idempotent.
     */
    public void destroy() {
        destroyed = true;
        Arrays.fill(delta, 0);
        Arrays.fill(firstEdge, 0);
        Arrays.fill(edgeLabel, (byte) 0);
        Arrays.fill(edgeTarget, 0);
        Arrays.fill(fail, 0);
        Arrays.fill(output, -1);
        Arrays.fill(liveDepth, 0);
        Arrays.fill(patternLength, 0);
        Arrays.fill(longFilter, 0);
        if (shortPrefixes != null) {
            Arrays.fill(shortPrefixes, 0);
        }
    }

    void checkAlive() {
        if (destroyed) {
            throw new IllegalStateException("masker was destroyed; compile a new one for this run");
        }
    }

    @Override
    public String toString() {
        return "Masker[patterns=" + patternLength.length + ", states=" + fail.length
                + ", longest=" + longest + ", unmaskedShortValues=" + shortNames.size() + "]";
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

    /** Builds the trie, its automaton tables and the start filters from the pattern list. */
    private static final class Builder {

        record Pattern(byte[] bytes, int kind, int name) {
            @Override
            public String toString() {
                return "Pattern[" + bytes.length + " bytes, kind=" + kind + ", name=" + name + "]";
            }
        }

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
        byte[][] replacement;
        int longest;
        long[] longFilter;
        int filterShift;
        long[] shortPrefixes;
        int shortStride;

        Builder(List<Pattern> all, List<String> names) {
            replacement = new byte[names.size()][];
            for (int i = 0; i < names.size(); i++) {
                replacement[i] = ("[MASKED:" + names.get(i) + "]").getBytes(StandardCharsets.UTF_8);
            }
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
                    fail[q] = parent[q] == 0 ? 0 : MaskingOutputStream.next(fail[parent[q]],
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
            Arrays.fill(label, (byte) 0);
        }

        /** About 16 bits per window: ~1.5% false hits, a few hundred KiB for 1000 values. */
        private void buildStartFilters(List<Pattern> patterns) {
            long windows = 0;
            shortStride = STRIDE;
            for (Pattern p : patterns) {
                if (p.bytes.length >= LONG_PATTERN) {
                    windows += STRIDE;
                } else {
                    shortStride = Math.min(shortStride, p.bytes.length - 1);
                }
            }
            for (Pattern p : patterns) {
                for (int o = 0; p.bytes.length < LONG_PATTERN && o < shortStride; o++) {
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
                for (int o = 0; p.bytes.length >= LONG_PATTERN && o < STRIDE; o++) {
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

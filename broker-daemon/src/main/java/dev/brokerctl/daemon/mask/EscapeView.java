package dev.brokerctl.daemon.mask;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The first masking stage: matches the decoded forms of the values ({@link
 * SecretPatterns#decodedForms}) on a decoded, normalised view of the output, and replaces the
 * original bytes each match came from. One per stream, in front of the raw stage.
 *
 * <h2>The view</h2>
 * The output is decoded left to right, each escape into the bytes it stands for:
 * <ul>
 * <li>{@code \\uXXXX} (either hex case) into the UTF-8 of that character, a surrogate pair
 *     {@code \\uD83D\\uDE00} into one 4-byte character; a lone surrogate is left as it is
 *     (JSON, JavaScript, Go, Python's {@code json.dumps});
 * <li>{@code \\n \\t \\r \\b \\f} into the control character, {@code \\} followed by any other
 *     byte but {@code u} into that byte ({@code \\" \\\\ \\/} of JSON, {@code \\' \\ \\$} of
 *     {@code printf %q} and shell);
 * <li>{@code '\''} and {@code '"'"'} (a quote inside a shell single-quoted string, as shells
 *     and Python's {@code shlex.quote} write it) into {@code '};
 * <li>{@code %XX} (either hex case) into that byte (percent-encoding, whatever it left raw).
 * </ul>
 * Then space, tab, CR, LF and {@code +} are left out of the view, whether written or decoded:
 * base64 and hex wrapped at any width or spaced like {@code od} read as one run, {@code +} and
 * {@code %20} for a space read alike, and the patterns are normalised the same way. A run of more
 * than {@value #MAX_GAP} left-out bytes puts a separator in the view (a space, which no pattern
 * contains), so a match never spans a longer gap. The run counts bytes of the view, whatever
 * they were written as: {@code %20%0A%20} is a run of three, as {@code " \\n "} is (counted in
 * written bytes, it was nine, and a value with three spaces in a row, percent-encoded, was left
 * unmasked). Escapes are not nested: {@code %5Cu0041} is
 * {@code \\u0041}, not {@code A}.
 *
 * <h2>Mapping back</h2>
 * Each view byte remembers the original bytes it came from; a match on view [u, v) replaces the
 * original bytes from the first of u's to the last of v - 1's, so breaks and escapes inside are
 * covered, breaks around it are kept. Where a match ends inside the bytes of one escape (one of
 * the UTF-8 bytes of {@code \\u00e4}), the whole escape is replaced and the next match starts
 * after it.
 *
 * <h2>Hold-back</h2>
 * An escape is decoded only when complete (at most 11 bytes wait: {@code \\uD83D\\uDE0}); a live
 * partial match of fewer than {@code longest} view bytes stands for at most
 * {@code (6 + 6 * MAX_GAP)} original bytes each (six for {@code \\u0041}, plus the gap after it,
 * {@code MAX_GAP} left-out bytes each written as {@code \\u0020}),
 * so the stage holds back fewer than {@link #holdBack(int)} original bytes.
 */
final class EscapeView {

    /** Longest run of left-out bytes (whitespace, '+') that a match may span. */
    static final int MAX_GAP = 8;
    /** Longest escape: a surrogate pair, {@code \\uD83D\\uDE00}. */
    static final int LONGEST_ESCAPE = 12;
    /** Most original bytes one view byte stands for ({@code \\u0041}). */
    static final int WIDEST_BYTE = 6;
    /** Most original bytes a gap within a match stands for (MAX_GAP times {@code \\u0020}). */
    static final int WIDEST_GAP = MAX_GAP * WIDEST_BYTE;

    /** Bytes below this (and the backslash) are the word path's candidates for a class. */
    private static final int BELOW = ',';

    /** 0: plain, 1: left out of the view, 2: may start an escape. */
    private static final byte[] CLASS = new byte[256];

    static {
        for (char c : new char[] {' ', '\t', '\r', '\n', '+'}) {
            CLASS[c] = 1;
        }
        for (char c : new char[] {'\\', '%', '\''}) {
            CLASS[c] = 2;
        }
        for (int b = 0; b < 256; b++) {
            if (CLASS[b] != 0 && !(b < BELOW || b == '\\')) {
                throw new AssertionError("the word path's candidates miss byte " + b);
            }
        }
    }

    private final Masker masker;
    private final OutputStream downstream;
    private final Scanner scanner;
    private final Gate gate;
    private final Gate.Batch batch = new Gate.Batch();
    /** The view: scanner.buf, or a plain array in {@link #decodeWhole}; view[0, viewLen). */
    private final byte[] view;
    private int viewLen;
    /**
     * Original bytes: in[0, inLen), in[0] at stream offset {@code base}; in[0, fwd) are
     * forwarded; in a stretch being decoded, in[pos, ...) are still to decode. At least
     * {@link Gate#BACK} bytes before {@code sample} are kept (or all since the start).
     */
    private final byte[] in;
    private int inLen;
    private long base;
    private int fwd;
    private int pos;
    /** Next sample the gate has not decided; a multiple of the stride from the stream start. */
    private int sample;
    /** The last clear sample (or the stream start): everything before it is done with. */
    private int cut;
    /** True while a stretch between clear samples is being decoded and scanned. */
    private boolean active;
    /**
     * Original bytes each view byte came from, by segments of the view: segment i starts at view
     * byte {@code segView[i]} (segView[0] is 0 while the view holds bytes) and reaches to the
     * next one's start. {@code segSrc[i] >> 4} is where the original bytes of its first view byte
     * start, the low four bits how many (0 to 12). A segment of width 1 is a run of plain bytes
     * (view byte k came from in[(segSrc >> 4) + k - segView], one byte); any other segment is one
     * escape, or one separator (width 0), and all its view bytes share its source. So a run of
     * plain bytes costs one entry, not one per byte ({@link #srcOf}). A segment of "width"
     * {@link #SPAN} holds no escape and no separator: its view bytes are the plain bytes of the
     * input from {@code segSrc >> 4} (a plain byte) on, in order, its other bytes left out (a
     * block of the word path, one entry for up to 64 bytes; found back by reading the input
     * again).
     */
    private final int[] segView;
    private final int[] segSrc;
    /** The low bits of a segSrc entry for a segment of plain and left-out bytes. */
    private static final int SPAN = 0xF;
    private int segCount;
    /** Decode 8 plain bytes at a time (false: byte by byte, the reference for tests). */
    private final boolean words;
    /** Left-out bytes since the last view byte; a separator was put in for them. */
    private int gap;
    private boolean separated = true;
    private long masked;
    private long decodedBytes;
    private final Scanner.Sink sink = this::replace;

    EscapeView(Masker masker, Automaton decoded, Gate gate, OutputStream downstream) {
        this.masker = masker;
        this.downstream = downstream;
        this.gate = gate;
        // A round decodes at most what the view has room for; held view bytes are under longest.
        int viewCapacity = decoded.longest + MaskingOutputStream.SLICE + LONGEST_ESCAPE;
        this.scanner = new Scanner(decoded, viewCapacity);
        this.segView = new int[viewCapacity + 1];
        this.segSrc = new int[viewCapacity + 1];
        this.words = masker.wordDecode;
        this.in = new byte[holdBack(decoded.longest) + Gate.BACK + MaskingOutputStream.SLICE];
        this.active = gate == null;
        this.view = scanner.buf;
    }

    private EscapeView(byte[] whole, boolean words) {
        this(whole, whole.length, words);
    }

    /** Decodes whole[0, length) as one output; bytes after length are there but not input. */
    private EscapeView(byte[] whole, int length, boolean words) {
        this.masker = null;
        this.downstream = null;
        this.scanner = null;
        this.gate = null;
        this.in = whole;
        this.inLen = length;
        // Room for a whole 8-byte store at the last view byte (see decode).
        this.view = new byte[whole.length + 1 + Long.BYTES];
        this.segView = new int[whole.length + 1];
        this.segSrc = new int[whole.length + 1];
        this.words = words;
    }

    /**
     * The view of {@code bytes} as a whole output, without separators: what a value printed as
     * it is, or inside shell quotes, looks like to the matcher. The caller zeroes the result.
     */
    static byte[] decodeWhole(byte[] bytes) {
        EscapeView e = new EscapeView(bytes, true);
        e.decode(bytes.length, true);
        byte[] out = SecretPatterns.normalise(java.util.Arrays.copyOf(e.view, e.viewLen));
        java.util.Arrays.fill(e.view, (byte) 0);
        return out;
    }

    /**
     * For tests: decodes {@code input} as one stream, the decoder called up to each of
     * {@code stops} (ascending) without end of input, then to the end with it, and returns each
     * view byte and its source ({@link #srcOf}) as {@code byte << 32 | source}.
     */
    static long[] trace(byte[] input, int[] stops, boolean words) {
        return trace(input, input.length, stops, words);
    }

    /**
     * As {@link #trace(byte[], int[], boolean)} for the input {@code input[0, length)}, with
     * the bytes after it in the array as a stream's buffer has them: there, but not input.
     */
    static long[] trace(byte[] input, int length, int[] stops, boolean words) {
        EscapeView e = new EscapeView(input, length, words);
        for (int stop : stops) {
            e.decode(stop, false);
        }
        e.decode(length, true);
        long[] out = new long[e.viewLen];
        for (int k = 0; k < out.length; k++) {
            out[k] = (long) (e.view[k] & 0xFF) << 32 | (e.srcOf(k) & 0xFFFF_FFFFL);
        }
        return out;
    }

    /**
     * Original bytes the stage may hold back for a pattern set whose longest has this length:
     * a partial match, an incomplete escape, and what the gate waits for (a stride and the bytes
     * a decision reads ahead).
     */
    static int holdBack(int longest) {
        return longest * (WIDEST_BYTE + WIDEST_GAP) + WIDEST_GAP + LONGEST_ESCAPE
                + Gate.MAX_STRIDE + Gate.AHEAD;
    }

    long maskedCount() {
        return masked;
    }

    /** Original bytes that went through the view so far (the rest the gate let pass). */
    long decodedBytes() {
        return decodedBytes;
    }

    /** The view scanner's {@link Scanner#steps}. */
    long scanSteps() {
        return scanner.steps;
    }

    int bufferCapacity() {
        return in.length + scanner.buf.length;
    }

    int pendingBytes() {
        return inLen - fwd;
    }

    void write(byte[] b, int off, int n) throws IOException {
        while (n > 0) {
            compact();
            int k = Math.min(n, Math.min(in.length - inLen, MaskingOutputStream.SLICE));
            if (k <= 0) {
                throw new IllegalStateException("masking buffer full: " + (inLen - fwd)
                        + " bytes held back");
            }
            System.arraycopy(b, off, in, inLen, k);
            inLen += k;
            off += k;
            n -= k;
            advance(false);
        }
    }

    void finish() throws IOException {
        advance(true);
        if (active) {
            endStretch(inLen);
        }
        forward(inLen);
    }

    /**
     * Decides every sample that can be decided (without {@code eof}, a sample waits until AHEAD
     * bytes follow it), lets through what lies between clear samples, and decodes the rest.
     *
     * <p>Bytes after the last decision are decoded at once, so that output stays live (only a
     * possible partial match is held, as without the gate). A stretch is then ended only at a
     * clear sample the decoder has not passed yet; ending it later than possible is always
     * right, since the decoder on its own gives the same result as the whole view.
     */
    private void advance(boolean eof) throws IOException {
        final Gate gate = this.gate;
        if (gate == null) {
            active = true;
            decodeTo(inLen, false);
            return;
        }
        final byte[] in = this.in;
        final int stride = gate.stride;
        final int decidable = eof ? inLen : inLen - Gate.AHEAD;
        final boolean streamStart = base == 0;
        final int[] found = batch.found;
        int r = sample;
        while (r < decidable) {
            int count = Math.min(Gate.BATCH, (decidable - r + stride - 1) / stride);
            gate.decide(in, r, count, inLen, streamStart, batch);
            for (int i = 0; i < count; i++, r += stride) {
                if (found[i] == Gate.CLEAR) {
                    if (!active) {
                        cut = r;
                    } else if (r >= pos) {
                        endStretch(r);
                        cut = r;
                    }
                } else if (!active) {
                    active = true;
                    pos = cut;
                }
            }
        }
        sample = r;
        if (!active) {
            forward(cut);
            if (cut < inLen) {
                active = true;
                pos = cut;
            }
        }
        if (active) {
            decodeTo(inLen, false);
        }
    }

    /** Decodes up to the clear sample {@code at} as the end of a stretch and forwards it all. */
    private void endStretch(int at) throws IOException {
        decodeTo(at, true);
        scanner.finish(sink);
        forwardView();
        forward(at);
        active = false;
        gap = 0;
        separated = true;
    }

    /** Decodes in[pos, limit) into the view and scans it, a view's room at a time. */
    private void decodeTo(int limit, boolean end) throws IOException {
        for (;;) {
            int n = Math.min(limit, pos + scanner.room());
            boolean eof = end && n == limit;
            int before = pos;
            viewLen = scanner.len;
            decode(n, eof);
            scanner.len = viewLen;
            decodedBytes += pos - before;
            scanner.scan(sink);
            forwardView();
            if (pos >= limit || pos < n) {
                return;
            }
        }
    }

    private void replace(int start, int end, int pattern) throws IOException {
        int from = Math.max(srcOf(start) >> 4, fwd);
        forward(from);
        downstream.write(masker.replacement(pattern, true));
        masked++;
        int last = srcOf(end - 1);
        fwd = Math.max(fwd, (last >> 4) + (last & 0xF));
    }

    /** Forwards what precedes the scanner's frontier and drops those view bytes. */
    private void forwardView() throws IOException {
        int f = scanner.frontier();
        int viewLen = scanner.len;
        forward(f < viewLen ? srcOf(f) >> 4 : pos);
        if (f > 0) {
            dropView(f, viewLen);
        }
        scanner.discard(f);
    }

    /**
     * Where view byte k (below the view's length) came from, as {@code start << 4 | count}:
     * a binary search for its segment.
     */
    private int srcOf(int k) {
        int i = segmentOf(k);
        int s = segSrc[i];
        int width = s & 0xF;
        if (width == SPAN) {
            // The (k - segView[i])-th plain byte from the span's start.
            int nth = k - segView[i];
            int p = s >> 4;
            for (;; p++) {
                if (CLASS[in[p] & 0xFF] == 0 && nth-- == 0) {
                    return p << 4 | 1;
                }
            }
        }
        return width == 1 ? s + ((k - segView[i]) << 4) : s;
    }

    /** The last segment starting at or before view byte k. */
    private int segmentOf(int k) {
        final int[] segView = this.segView;
        int lo = 0;
        int hi = segCount - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (segView[mid] <= k) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /** Drops view bytes [0, f) from the segments; the rest shift down by f. */
    private void dropView(int f, int viewLen) {
        if (f >= viewLen) {
            segCount = 0;
            return;
        }
        int i = segmentOf(f);
        int first = srcOf(f);
        int count = segCount - i;
        System.arraycopy(segView, i, segView, 0, count);
        System.arraycopy(segSrc, i, segSrc, 0, count);
        // The rest of a span is a span from the first byte kept.
        segSrc[0] = (segSrc[0] & 0xF) == SPAN ? first | SPAN : first;
        segView[0] = f;
        for (int j = 0; j < count; j++) {
            segView[j] -= f;
        }
        segCount = count;
    }

    /** A plain byte at view[v] from in[p]: extends the last segment if that is the run before. */
    private void plain(int v, int p) {
        int s = p << 4 | 1;
        int last = segCount - 1;
        if (last >= 0 && segSrc[last] + ((v - segView[last]) << 4) == s && (segSrc[last] & 0xF) == 1) {
            return;
        }
        segView[segCount] = v;
        segSrc[segCount++] = s;
    }

    /** An escape or separator starting at view[v], every byte of it from {@code src}. */
    private void escape(int v, int src) {
        segView[segCount] = v;
        segSrc[segCount++] = src;
    }

    /** Drops forwarded bytes the gate no longer needs; indexes shift down. */
    private void compact() {
        // While a stretch is decoded, cut is not needed again (the next clear sample sets it).
        int drop = gate == null ? fwd : Math.min(fwd, sample - Gate.BACK);
        if (!active && gate != null) {
            drop = Math.min(drop, cut);
        }
        if (drop <= 0) {
            return;
        }
        System.arraycopy(in, drop, in, 0, inLen - drop);
        inLen -= drop;
        fwd -= drop;
        pos -= drop;
        sample -= drop;
        cut -= drop;
        base += drop;
        int shift = drop << 4;
        for (int k = 0; k < segCount; k++) {
            segSrc[k] -= shift;
        }
    }

    private void forward(int upTo) throws IOException {
        if (upTo > fwd) {
            downstream.write(in, fwd, upTo - fwd);
            fwd = upTo;
        }
    }

    /**
     * Decodes in[pos, n) into the view; without {@code eof}, stops before an escape that may
     * still be incomplete. Never writes more view bytes than it consumes.
     *
     * <p>Eight bytes at a time ({@link #decodeWords}) up to a byte that may start an escape;
     * that byte, and the last bytes before {@code n}, go through the byte loop here. The
     * result, view bytes and sources, is exactly that of the byte loop alone
     * (EscapeViewWordsTest).
     */
    private void decode(int n, boolean eof) {
        final byte[] in = this.in;
        final byte[] view = this.view;
        final byte[] cls = CLASS;
        final boolean words = this.words;
        int v = viewLen;
        int p = pos;
        int gap = this.gap;
        boolean separated = this.separated;
        while (p < n) {
            if (words && p + Long.BYTES <= n) {
                viewLen = v;
                pos = p;
                this.gap = gap;
                this.separated = separated;
                decodeWords(n);
                v = viewLen;
                p = pos;
                gap = this.gap;
                separated = this.separated;
                if (p >= n) {
                    break;
                }
            }
            // An escape byte, or the last bytes: the byte loop.
            int b = in[p] & 0xFF;
            int c = cls[b];
            if (c == 0) {
                view[v] = (byte) b;
                plain(v++, p++);
                gap = 0;
                separated = false;
                continue;
            }
            if (c == 1) {
                p++;
                if (++gap > MAX_GAP && !separated) {
                    separated = true;
                    view[v] = ' ';
                    escape(v++, p << 4);
                }
                continue;
            }
            // The helpers below keep gap and separated in the fields.
            this.gap = gap;
            this.separated = separated;
            if (b == '%') {
                if (!eof && incompleteHex(in, p + 1, n)) {
                    break;
                }
                if (p + 2 < n && hex(in[p + 1]) >= 0 && hex(in[p + 2]) >= 0) {
                    // A byte, not a character: put it in as it is.
                    v = emitByte(hex(in[p + 1]) << 4 | hex(in[p + 2]), p, p + 3, v);
                    p += 3;
                    gap = this.gap;
                    separated = this.separated;
                    continue;
                }
            } else if (b == '\'') {
                if (!eof && (p + 4 > n && prefixOf(in, p, n, QUOTE_ESCAPE)
                        || p + 5 > n && prefixOf(in, p, n, QUOTE_ESCAPE_DOUBLE))) {
                    break;
                }
                if (p + 4 <= n && prefixOf(in, p, p + 4, QUOTE_ESCAPE)) {
                    v = emitByte('\'', p, p + 4, v);
                    p += 4;
                    gap = this.gap;
                    separated = this.separated;
                    continue;
                }
                if (p + 5 <= n && prefixOf(in, p, p + 5, QUOTE_ESCAPE_DOUBLE)) {
                    v = emitByte('\'', p, p + 5, v);
                    p += 5;
                    gap = this.gap;
                    separated = this.separated;
                    continue;
                }
            } else {
                if (p + 1 >= n) {
                    if (!eof) {
                        break;
                    }
                } else {
                    int e = in[p + 1] & 0xFF;
                    if (e == 'u') {
                        int u = unicode(in, p, n);
                        if (u == WAIT && !eof) {
                            break;
                        }
                        if (u >= 0) {
                            int w = u >= 0x10000 ? 12 : 6;
                            v = emitChar(u, p, p + w, v);
                            p += w;
                            gap = this.gap;
                            separated = this.separated;
                            continue;
                        }
                    } else {
                        int d = switch (e) {
                            case 'n' -> '\n';
                            case 't' -> '\t';
                            case 'r' -> '\r';
                            case 'b' -> '\b';
                            case 'f' -> '\f';
                            default -> e;
                        };
                        v = emitByte(d, p, p + 2, v);
                        p += 2;
                        gap = this.gap;
                        separated = this.separated;
                        continue;
                    }
                }
            }
            // Not an escape: the byte stands for itself.
            view[v] = (byte) b;
            plain(v++, p++);
            gap = 0;
            separated = false;
        }
        pos = p;
        viewLen = v;
        this.gap = gap;
        this.separated = separated;
    }

    /**
     * The word path of {@link #decode}: from in[pos], while 8 bytes remain before n, the plain
     * and left-out bytes up to the first byte that may start an escape (left to the byte loop).
     *
     * <p>First in blocks of 64 bytes: eight word reads make bit masks of the block's spaces and
     * of the bytes the class table must sort out (every other byte below {@code ','} and
     * backslashes: a newline, {@code +}, tab or CR is left out, a quote kept, an escape start
     * ends the block there; only spaces are common enough to pay for an exact compare in every
     * word). Then each run of plain bytes is found with two bit scans and copied with two
     * 8-byte stores (a loop only past 16 bytes; what a store puts after the run is overwritten
     * later, and the view and the input have room for it). A block in which no separator can
     * fall is one source entry, a {@link #SPAN}; otherwise each run is one, and each left-out
     * run moves the gap on and makes the separator where the byte loop makes it. So the loop
     * does not branch on where in a word the spaces fall.
     * The last bytes before n (and near the end of the input array, which the copies may read
     * past a run) go one step at a time: the 8 bytes at p give the plain run and the left-out
     * run after it. The view and every source are the byte loop's (EscapeViewWordsTest).
     */
    private void decodeWords(int n) {
        final byte[] in = this.in;
        final byte[] view = this.view;
        final int[] segView = this.segView;
        final int[] segSrc = this.segSrc;
        int v = viewLen;
        int p = pos;
        int gap = this.gap;
        boolean separated = this.separated;
        int segs = segCount;
        // Blocks of 64 bytes, while a run's 16-byte copy cannot read past the input array.
        final byte[] cls = CLASS;
        while (p + BLOCK <= n && p + BLOCK + 2 * Long.BYTES <= in.length) {
            // Bit i of kept / out / other: in[p + i] is plain / left out / for the table.
            long out = 0;
            long other = 0;
            for (int j = 0; j < BLOCK; j += Long.BYTES) {
                long w = (long) LITTLE_ENDIAN_LONG.get(in, p + j);
                long cand = (~(((w | HIGH_BITS) - LOW_BITS * BELOW) | w) & HIGH_BITS)
                        | bytesEqual(w, '\\');
                long o = bytesEqual(w, ' ');
                out |= ((o * GATHER) >>> 56) << j;
                other |= (((cand ^ o) * GATHER) >>> 56) << j;
            }
            long kept = ~(out | other);
            // Bytes [0, lim) are plain or left out; an escape start at lim ends the block.
            int lim = BLOCK;
            for (; other != 0; other &= other - 1) {
                int i = Long.numberOfTrailingZeros(other);
                int c = cls[in[p + i] & 0xFF];
                if (c == 2) {
                    lim = i;
                    break;
                }
                long bit = 1L << i;
                kept |= c == 0 ? bit : 0;
            }
            if (lim < BLOCK) {
                kept &= (1L << lim) - 1;
            }
            if (lim == BLOCK && kept != 0) {
                // No separator can fall in the block if the left-out run at its start (after
                // the gap before it) and every run in it have at most MAX_GAP bytes (r: bit i
                // for a left-out run of MAX_GAP + 1 bytes from i). Then it is one span.
                long outs = ~kept;
                long r = outs & (outs >>> 1);
                r &= r >>> 2;
                r &= r >>> 4;
                r &= outs >>> MAX_GAP;
                if (r == 0 && gap + Long.numberOfTrailingZeros(kept) <= MAX_GAP) {
                    segView[segs] = v;
                    // From its first plain byte: a stream may drop the bytes before it.
                    segSrc[segs++] = (p + Long.numberOfTrailingZeros(kept)) << 4 | SPAN;
                    gap = Long.numberOfLeadingZeros(kept);
                    separated = false;
                    do {
                        int s = Long.numberOfTrailingZeros(kept);
                        long after = ~kept & -(kept & -kept);
                        int len = Long.numberOfTrailingZeros(after) - s;
                        int src = p + s;
                        LITTLE_ENDIAN_LONG.set(view, v, (long) LITTLE_ENDIAN_LONG.get(in, src));
                        int half = Math.min(len, Long.BYTES);
                        LITTLE_ENDIAN_LONG.set(view, v + half,
                                (long) LITTLE_ENDIAN_LONG.get(in, src + half));
                        for (int c = 2 * Long.BYTES; c < len; c += Long.BYTES) {
                            LITTLE_ENDIAN_LONG.set(view, v + c,
                                    (long) LITTLE_ENDIAN_LONG.get(in, src + c));
                        }
                        v += len;
                        kept &= -(after & -after);
                    } while (kept != 0);
                    p += BLOCK;
                    continue;
                }
            }
            // q: bytes of the block done; gap: left-out bytes in a row before q.
            int q = 0;
            while (kept != 0) {
                int s = Long.numberOfTrailingZeros(kept);
                long after = ~kept & -(kept & -kept);
                int e = Long.numberOfTrailingZeros(after);
                if (gap + s - q > MAX_GAP && !separated) {
                    // The (MAX_GAP + 1)-th left-out byte in a row, as in the byte loop.
                    view[v] = ' ';
                    segView[segs] = v++;
                    segSrc[segs++] = (p + q + MAX_GAP - gap + 1) << 4;
                }
                int src = p + s;
                int len = e - s;
                segView[segs] = v;
                segSrc[segs++] = src << 4 | 1;
                LITTLE_ENDIAN_LONG.set(view, v, (long) LITTLE_ENDIAN_LONG.get(in, src));
                int half = Math.min(len, Long.BYTES);
                LITTLE_ENDIAN_LONG.set(view, v + half, (long) LITTLE_ENDIAN_LONG.get(in, src + half));
                for (int c = 2 * Long.BYTES; c < len; c += Long.BYTES) {
                    LITTLE_ENDIAN_LONG.set(view, v + c, (long) LITTLE_ENDIAN_LONG.get(in, src + c));
                }
                v += len;
                gap = 0;
                separated = false;
                q = e;
                kept &= -(after & -after);
            }
            if (gap + lim - q > MAX_GAP && !separated) {
                separated = true;
                view[v] = ' ';
                segView[segs] = v++;
                segSrc[segs++] = (p + q + MAX_GAP - gap + 1) << 4;
            }
            gap += lim - q;
            p += lim;
            if (lim < BLOCK) {
                segCount = segs;
                pos = p;
                viewLen = v;
                this.gap = gap;
                this.separated = separated;
                return;
            }
        }
        if (p + Long.BYTES > n) {
            segCount = segs;
            pos = p;
            viewLen = v;
            this.gap = gap;
            this.separated = separated;
            return;
        }
        do {
            long w = (long) LITTLE_ENDIAN_LONG.get(in, p);
            // Every byte of CLASS 1 or 2 is below BELOW or a backslash (checked when the class
            // is made); out is exact for the left-out bytes handled here.
            long cand = (~(((w | HIGH_BITS) - LOW_BITS * BELOW) | w) & HIGH_BITS)
                    | bytesEqual(w, '\\');
            long out = bytesEqual(w, ' ') | bytesEqual(w, '\n') | bytesEqual(w, '+');
            // Bytes [0, lim) are plain or left out; the byte at lim is for the byte loop.
            int lim = Long.numberOfTrailingZeros(cand & ~out) >>> 3;
            int k = Math.min(lim, Long.numberOfTrailingZeros(out) >>> 3);
            int m = Math.min(lim - k,
                    Long.numberOfTrailingZeros((~out & HIGH_BITS) >>> (k << 3)) >>> 3);
            if (k + m == 0) {
                break;
            }
            LITTLE_ENDIAN_LONG.set(view, v, w);
            segView[segs] = v;
            segSrc[segs] = p << 4 | 1;
            // One entry if the run has a byte: (-k) >>> 31 is 1 for k > 0, else 0.
            segs += -k >>> 31;
            v += k;
            // The gap restarts after a plain byte.
            int before = gap & ((k - 1) >> 31);
            separated &= k == 0;
            gap = before + m;
            if (gap > MAX_GAP && !separated) {
                // The (MAX_GAP + 1)-th left-out byte in a row, as in the byte loop.
                separated = true;
                view[v] = ' ';
                segView[segs] = v++;
                segSrc[segs++] = (p + k + MAX_GAP - before + 1) << 4;
            }
            p += k + m;
        } while (p + Long.BYTES <= n);
        segCount = segs;
        pos = p;
        viewLen = v;
        this.gap = gap;
        this.separated = separated;
    }

    private static final VarHandle LITTLE_ENDIAN_LONG =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long LOW_BITS = 0x0101_0101_0101_0101L;
    private static final long HIGH_BITS = 0x8080_8080_8080_8080L;
    /** Bytes of one block of the word path. */
    private static final int BLOCK = 64;
    /** Times a word's high bits (and nothing else): those 8 bits in the top byte, in order. */
    private static final long GATHER = 0x0002_0408_1020_4081L;

    /** The high bit of each byte of w that equals c, and no other bit. */
    private static long bytesEqual(long w, int c) {
        long x = w ^ (LOW_BITS * c);
        // Exact (no borrow between bytes): a byte's high bit survives only if it was 0.
        return ~(((x & ~HIGH_BITS) + ~HIGH_BITS) | x | ~HIGH_BITS);
    }

    private static final byte[] QUOTE_ESCAPE = {'\'', '\\', '\'', '\''};
    private static final byte[] QUOTE_ESCAPE_DOUBLE = {'\'', '"', '\'', '"', '\''};
    private static final int WAIT = -2;

    /** True if in[from, n) are all hex digits and fewer than two: a %XX that may complete. */
    private static boolean incompleteHex(byte[] in, int from, int n) {
        if (n - from >= 2) {
            return false;
        }
        for (int k = from; k < n; k++) {
            if (hex(in[k]) < 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean prefixOf(byte[] in, int from, int to, byte[] escape) {
        for (int k = from; k < to; k++) {
            if (in[k] != escape[k - from]) {
                return false;
            }
        }
        return true;
    }

    /**
     * The character of the escape at in[p] ({@code \\u} known), or -1 if it is none (a lone
     * surrogate, a non-hex digit), or WAIT if the bytes so far may still become one.
     */
    private static int unicode(byte[] in, int p, int n) {
        int u = hex4(in, p + 2, n);
        if (u < 0) {
            return u;
        }
        if (u >= 0xDC00 && u <= 0xDFFF) {
            return -1;
        }
        if (u < 0xD800 || u > 0xDBFF) {
            return u;
        }
        if (p + 6 < n && in[p + 6] != '\\' || p + 7 < n && in[p + 7] != 'u') {
            return -1;
        }
        if (p + 8 > n) {
            return WAIT;
        }
        int low = hex4(in, p + 8, n);
        if (low < 0) {
            return low;
        }
        if (low < 0xDC00 || low > 0xDFFF) {
            return -1;
        }
        return 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
    }

    /** Four hex digits at in[at], -1 if one is not, WAIT if the input ends before four. */
    private static int hex4(byte[] in, int at, int n) {
        int u = 0;
        for (int k = at; k < at + 4; k++) {
            if (k >= n) {
                return WAIT;
            }
            int h = hex(in[k]);
            if (h < 0) {
                return -1;
            }
            u = u << 4 | h;
        }
        return u;
    }

    private static int hex(byte b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        }
        if (b >= 'a' && b <= 'f') {
            return b - 'a' + 10;
        }
        if (b >= 'A' && b <= 'F') {
            return b - 'A' + 10;
        }
        return -1;
    }

    /**
     * Puts decoded byte d for in[from, to) in the view, or leaves it out like whitespace: one
     * left-out byte of the view, however many it was written in.
     */
    private int emitByte(int d, int from, int to, int v) {
        if (CLASS[d] == 1) {
            return leaveOut(to, v);
        }
        view[v] = (byte) d;
        escape(v, from << 4 | (to - from));
        gap = 0;
        separated = false;
        return v + 1;
    }

    /** The UTF-8 bytes of character u, all standing for in[from, to). */
    private int emitChar(int u, int from, int to, int v) {
        if (u < 0x80) {
            return emitByte(u, from, to, v);
        }
        int count = u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;
        int lead = count == 2 ? 0xC0 : count == 3 ? 0xE0 : 0xF0;
        escape(v, from << 4 | (to - from));
        for (int k = 0; k < count; k++) {
            int shift = 6 * (count - 1 - k);
            int bits = (u >>> shift) & 0x3F;
            view[v++] = (byte) (k == 0 ? lead | (u >>> shift) : 0x80 | bits);
        }
        gap = 0;
        separated = false;
        return v;
    }

    /** A left-out byte of the view, written up to in[end]; a separator past MAX_GAP. */
    private int leaveOut(int end, int v) {
        gap++;
        if (gap > MAX_GAP && !separated) {
            separated = true;
            view[v] = ' ';
            escape(v, end << 4);
            return v + 1;
        }
        return v;
    }
}

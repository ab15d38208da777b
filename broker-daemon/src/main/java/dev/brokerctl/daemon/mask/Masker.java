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
 * <h2>Patterns, in two stages</h2>
 * First, on the {@link EscapeView} of the output (escapes decoded, whitespace and {@code +}
 * left out), for each value of at least 8 bytes: the value, the value as that view reads it,
 * base64 standard and url-safe at the three alignments the value can have inside a 3-byte group
 * (cut to the characters fixed by the value alone, plus the longer forms with the last partial
 * character and padding that appear when the value ends the encoded input), hex lower and upper;
 * so JSON, JavaScript and Go {@code \\uXXXX}, percent-encoding with anything left raw and
 * {@code +} for space, shell quoting, and base64 or hex wrapped or spaced at any width are all
 * matched. Then, on the result, for each value of at least 4 bytes: the raw bytes and each line
 * of a multi-line value ({@code \n} or {@code \r\n}; lines under 4 bytes skipped). Values under 4
 * bytes are not masked and are listed by {@link #unmaskedShortValueNames()} so the caller can
 * warn the human. Duplicate patterns are kept once, attributed to a value before another
 * value's encoded form, then to the name that sorts first.
 *
 * <h2>Matching</h2>
 * Leftmost-longest, non-overlapping within each stage: among the matches starting at the
 * leftmost position the longest one is replaced, and matching resumes after it, in time linear
 * in the output ({@link Scanner}). The result does not depend on how the output is chunked: a
 * stream gives the same bytes as {@link #maskAll}. Limits: where two values overlap in the output
 * (the tail of one is the head of the other) the second one's remainder is not masked;
 * replacement text is not rescanned, so a value that occurs inside {@code [MASKED:NAME]} (say,
 * equal to its own name) shows there; and see {@link EscapeView} for what it does not decode.
 * Masking prevents accidents; it is not a boundary against a hostile command.
 *
 * <h2>Automaton</h2>
 * One {@link Automaton} per stage: byte-level Aho-Corasick with two start filters that let a
 * stream skip text where no pattern can start. Memory is about 21 bytes per distinct pattern
 * byte; see {@link #footprintBytes()}.
 *
 * <h2>Threads and secrets</h2>
 * Immutable after {@link #compile} and safe to share between threads; a
 * {@link MaskingOutputStream} is for one thread. No {@code toString} prints a value or pattern
 * and no exception carries pattern bytes. {@link #destroy()} zeroes the automaton and filters
 * (best effort: the garbage collector may have copied arrays, and callers own the arrays they
 * passed in).
 */
public final class Masker {

    /** Raw values and their lines, matched on the output as written. */
    final Automaton raw;
    /** Decoded forms, matched on the {@link EscapeView}; null if there are none. */
    final Automaton decoded;
    /** Where the decoded stage must look at all; null if it looks everywhere. */
    final Gate gate;
    /**
     * The decoded view is built 8 bytes at a time where it can be (false: byte by byte, the
     * reference the word path is tested against; the result is the same).
     */
    final boolean wordDecode;
    /** {@code [MASKED:NAME]} as UTF-8, by name index. */
    private final byte[][] replacement;
    private final List<String> shortNames;
    private volatile boolean destroyed;

    private Masker(Automaton raw, Automaton decoded, Gate gate, boolean wordDecode,
            List<String> names, List<String> shortNames) {
        this.raw = raw;
        this.decoded = decoded;
        this.gate = gate;
        this.wordDecode = wordDecode;
        this.replacement = new byte[names.size()][];
        for (int i = 0; i < names.size(); i++) {
            replacement[i] = ("[MASKED:" + names.get(i) + "]").getBytes(StandardCharsets.UTF_8);
        }
        this.shortNames = List.copyOf(shortNames);
    }

    /**
     * Compiles the patterns for {@code secrets} (name to value). The map and its arrays are only
     * read; the caller still owns, and should zero, the values.
     */
    public static Masker compile(Map<String, byte[]> secrets) {
        return compile(secrets, Gate.WORTH_FROM);
    }

    /**
     * As {@link #compile(Map)}, with the decoded stage's {@link Gate} used only if the shortest
     * decoded form has at least {@code gateFrom} bytes (tests force it on with 8, off with
     * {@code Integer.MAX_VALUE}; the result is the same either way).
     */
    static Masker compile(Map<String, byte[]> secrets, int gateFrom) {
        return compile(secrets, gateFrom, true);
    }

    /**
     * As {@link #compile(Map, int)}; {@code wordDecode} false builds the decoded view byte by
     * byte (for tests comparing the two; the result is the same).
     */
    static Masker compile(Map<String, byte[]> secrets, int gateFrom, boolean wordDecode) {
        // Sorted names give a stable attribution when two names produce the same pattern.
        TreeMap<String, byte[]> sorted = new TreeMap<>();
        for (Map.Entry<String, byte[]> e : secrets.entrySet()) {
            sorted.put(Objects.requireNonNull(e.getKey(), "secret name"),
                    Objects.requireNonNull(e.getValue(), "value of secret " + e.getKey()));
        }
        List<String> names = new ArrayList<>(sorted.keySet());
        List<String> shortNames = new ArrayList<>();
        List<Automaton.Pattern> rawForms = new ArrayList<>();
        List<Automaton.Pattern> decodedForms = new ArrayList<>();
        int nameIndex = 0;
        for (byte[] value : sorted.values()) {
            if (value.length < SecretPatterns.MIN_MASKED) {
                shortNames.add(names.get(nameIndex));
            }
            for (byte[] p : SecretPatterns.rawAndLines(value)) {
                rawForms.add(new Automaton.Pattern(p, 0, nameIndex));
            }
            byte[] plain = SecretPatterns.normalise(value);
            for (byte[] p : SecretPatterns.decodedForms(value)) {
                // The value itself beats another value's encoded form that happens to equal it.
                decodedForms.add(new Automaton.Pattern(p, Arrays.equals(p, plain) ? 0 : 1, nameIndex));
            }
            Arrays.fill(plain, (byte) 0);
            nameIndex++;
        }
        Gate gate = null;
        int shortest = Integer.MAX_VALUE;
        for (Automaton.Pattern p : decodedForms) {
            shortest = Math.min(shortest, p.bytes().length);
        }
        if (!decodedForms.isEmpty() && shortest >= gateFrom) {
            List<byte[]> bytes = new ArrayList<>(decodedForms.size());
            for (Automaton.Pattern p : decodedForms) {
                bytes.add(p.bytes());
            }
            gate = new Gate(bytes); // before the automaton, which zeroes the pattern bytes
        }
        Automaton decoded = decodedForms.isEmpty() ? null : new Automaton(decodedForms);
        return new Masker(new Automaton(rawForms), decoded, gate, wordDecode, names, shortNames);
    }

    /** Names whose values are shorter than 4 bytes and therefore not masked, sorted. */
    public List<String> unmaskedShortValueNames() {
        return shortNames;
    }

    /** Distinct patterns registered: raw forms plus decoded forms. */
    public int patternCount() {
        return raw.patternCount() + (decoded == null ? 0 : decoded.patternCount());
    }

    /** Length of the longest pattern in bytes (0 if none), raw or decoded. */
    public int longestPattern() {
        return Math.max(raw.longest, decoded == null ? 0 : decoded.longest);
    }

    /**
     * A stream holds back fewer input bytes than this: a partial raw match (under the longest raw
     * pattern) plus what the decoded view holds ({@link EscapeView#holdBack}).
     */
    public int holdBackBound() {
        return Math.max(1, raw.longest) + (decoded == null ? 0 : EscapeView.holdBack(decoded.longest));
    }

    /** Approximate heap held by the compiled automata and filters, in bytes. */
    public long footprintBytes() {
        long bytes = raw.footprintBytes()
                + (decoded == null ? 0 : decoded.footprintBytes())
                + (gate == null ? 0 : gate.footprintBytes());
        for (byte[] r : replacement) {
            bytes += r.length + 16;
        }
        return bytes;
    }

    /** Number of automaton states (for sizing reports). */
    int stateCount() {
        return raw.stateCount() + (decoded == null ? 0 : decoded.stateCount());
    }

    /** {@code [MASKED:NAME]} for a pattern of the raw or the decoded automaton. */
    byte[] replacement(int pattern, boolean fromDecoded) {
        Automaton a = fromDecoded ? decoded : raw;
        return replacement[a.patternName[pattern]];
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
        raw.destroy();
        if (decoded != null) {
            decoded.destroy();
        }
        if (gate != null) {
            gate.destroy();
        }
    }

    void checkAlive() {
        if (destroyed) {
            throw new IllegalStateException("masker was destroyed; compile a new one for this run");
        }
    }

    @Override
    public String toString() {
        return "Masker[patterns=" + patternCount() + ", states=" + stateCount()
                + ", longest=" + longestPattern() + ", unmaskedShortValues=" + shortNames.size() + "]";
    }
}

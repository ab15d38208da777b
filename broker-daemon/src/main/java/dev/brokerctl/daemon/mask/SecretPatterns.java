package dev.brokerctl.daemon.mask;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * The byte patterns that stand for one secret value in program output. Package-private: only
 * {@link Masker} and its tests see patterns. Every returned array is fresh; callers zero them.
 */
final class SecretPatterns {

    /** Values shorter than this are not masked at all (too many false hits); the caller warns. */
    static final int MIN_MASKED = 4;
    /** Values shorter than this get only raw (and line) patterns, no encodings. */
    static final int MIN_ENCODED = 8;

    private static final byte[] HEX_LOWER = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HEX_UPPER = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);

    /**
     * Base64 characters of {@code value} that do not depend on its unknown neighbour bytes when it
     * starts at offset 0, 1 or 2 of a 3-byte group. Encoding k zero bytes before the value, the
     * first ceil(8k/6) characters (0, 2, 3) carry bits of those prefix bytes and are dropped.
     */
    private static final int[] LEADING_DROP = {0, 2, 3};

    private SecretPatterns() {
    }

    /** The value itself (if at least {@link #MIN_MASKED} bytes) and each line of it. */
    static List<byte[]> rawAndLines(byte[] value) {
        List<byte[]> out = new ArrayList<>();
        if (value.length < MIN_MASKED) {
            return out;
        }
        out.add(value.clone());
        int lineStart = 0;
        for (int i = 0; i <= value.length; i++) {
            if (i < value.length && value[i] != '\n') {
                continue;
            }
            // A value without '\n' is one line, identical to the raw pattern: skip it.
            if (i == value.length && lineStart == 0) {
                break;
            }
            int end = i;
            if (end > lineStart && value[end - 1] == '\r') {
                end--;
            }
            if (end - lineStart >= MIN_MASKED) {
                out.add(Arrays.copyOfRange(value, lineStart, end));
            }
            lineStart = i + 1;
        }
        return out;
    }

    /**
     * Encoded forms of a value of at least {@link #MIN_ENCODED} bytes (empty otherwise), as
     * encoders print them unwrapped: base64 standard and url-safe at the three alignments, hex
     * lower and upper, percent-encoding with upper- and lower-case hex, JSON string body. Not
     * registered as they are (the decoded stage covers them and their variants); tests and the
     * benchmark print them. May contain duplicates and the raw value.
     */
    static List<byte[]> encodings(byte[] value) {
        List<byte[]> out = new ArrayList<>();
        if (value.length < MIN_ENCODED) {
            return out;
        }
        for (int k = 0; k < 3; k++) {
            byte[] shifted = new byte[k + value.length];
            System.arraycopy(value, 0, shifted, k, value.length);
            byte[] std = Base64.getEncoder().encode(shifted);
            Arrays.fill(shifted, (byte) 0);
            byte[] url = toUrlSafe(std);
            addBase64(out, std, k, value.length);
            addBase64(out, url, k, value.length);
            Arrays.fill(std, (byte) 0);
            Arrays.fill(url, (byte) 0);
        }
        out.add(hex(value, HEX_LOWER));
        out.add(hex(value, HEX_UPPER));
        out.add(percent(value, HEX_UPPER));
        out.add(percent(value, HEX_LOWER));
        for (boolean upper : new boolean[] {false, true}) {
            for (boolean slash : new boolean[] {false, true}) {
                out.add(json(value, upper, slash));
            }
        }
        return out;
    }

    /**
     * What the decoded stage matches for a value of at least {@link #MIN_ENCODED} bytes (empty
     * otherwise), each {@link #normalise normalised} like the view it is matched on: the value
     * (its percent, JSON, {@code \\uXXXX} and shell-escaped forms decode to it), the value as
     * the view reads it when printed as it is, base64 standard
     * and url-safe at the three alignments, hex lower and upper (wrapped or spaced, they read as
     * one run). Forms shorter than {@link #MIN_ENCODED} bytes once normalised are dropped. May
     * contain duplicates.
     */
    static List<byte[]> decodedForms(byte[] value) {
        List<byte[]> out = new ArrayList<>();
        if (value.length < MIN_ENCODED) {
            return out;
        }
        List<byte[]> forms = new ArrayList<>();
        forms.add(value.clone());
        // The value printed as it is (or in shell quotes) when it holds bytes that read as
        // escapes: "a\\bc" prints a backslash and b, which the view reads as a backspace.
        forms.add(EscapeView.decodeWhole(value));
        if (contains(value, (byte) '\\')) {
            // Inside shell single quotes a backslash is literal, but the view reads it with the
            // byte after it, which may be the quoting's own: 'a\'\''b' reads a''b, and a value
            // ending in a backslash takes the closing quote ('ab\' reads ab'). Both quotings.
            for (String quote : new String[] {"'\\''", "'\"'\"'"}) {
                byte[] f = singleQuotedView(value, quote);
                if (forms.stream().anyMatch(g -> Arrays.equals(g, f))) {
                    Arrays.fill(f, (byte) 0);
                } else {
                    forms.add(f);
                }
            }
        }
        for (int k = 0; k < 3; k++) {
            byte[] shifted = new byte[k + value.length];
            System.arraycopy(value, 0, shifted, k, value.length);
            byte[] std = Base64.getEncoder().encode(shifted);
            Arrays.fill(shifted, (byte) 0);
            byte[] url = toUrlSafe(std);
            addBase64(forms, std, k, value.length);
            addBase64(forms, url, k, value.length);
            Arrays.fill(std, (byte) 0);
            Arrays.fill(url, (byte) 0);
        }
        forms.add(hex(value, HEX_LOWER));
        forms.add(hex(value, HEX_UPPER));
        for (byte[] f : forms) {
            byte[] n = normalise(f);
            Arrays.fill(f, (byte) 0);
            if (n.length >= MIN_ENCODED) {
                out.add(n);
            } else {
                Arrays.fill(n, (byte) 0);
            }
        }
        return out;
    }

    /**
     * The view of {@code value} in shell single quotes, each quote in it written as
     * {@code quote}, without the view bytes of the opening and the closing quote (the last one
     * may be a quote the value's last backslash took).
     */
    private static byte[] singleQuotedView(byte[] value, String quote) {
        java.io.ByteArrayOutputStream q = new java.io.ByteArrayOutputStream(value.length + 16);
        q.write('\'');
        for (byte b : value) {
            if (b == '\'') {
                q.writeBytes(quote.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            } else {
                q.write(b);
            }
        }
        q.write('\'');
        byte[] quoted = q.toByteArray();
        byte[] view = EscapeView.decodeWhole(quoted);
        Arrays.fill(quoted, (byte) 0);
        byte[] inner = view.length < 2 ? new byte[0] : Arrays.copyOfRange(view, 1, view.length - 1);
        Arrays.fill(view, (byte) 0);
        return inner;
    }

    private static boolean contains(byte[] a, byte b) {
        for (byte x : a) {
            if (x == b) {
                return true;
            }
        }
        return false;
    }

    /** True for the bytes the decoded view leaves out: space, tab, CR, LF and '+'. */
    static boolean leftOut(int b) {
        return b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == '+';
    }

    /** {@code form} without the bytes the decoded view leaves out. */
    static byte[] normalise(byte[] form) {
        byte[] scratch = new byte[form.length];
        int n = 0;
        for (byte b : form) {
            if (!leftOut(b)) {
                scratch[n++] = b;
            }
        }
        return trim(scratch, n);
    }

    /** Raw, lines, then the printed encodings of one value, deduplicated (for tests and benchmarks). */
    static List<byte[]> all(byte[] value) {
        List<byte[]> out = new ArrayList<>(rawAndLines(value));
        for (byte[] p : encodings(value)) {
            boolean dup = false;
            for (byte[] q : out) {
                dup |= Arrays.equals(p, q);
            }
            if (!dup) {
                out.add(p);
            }
        }
        return out;
    }

    /**
     * Adds up to three patterns for one alignment {@code k}, all starting after the dropped
     * leading characters. Mid-stream, only characters whose 6 bits all come from the value are
     * fixed: floor(8(k+n)/6) of them. If the value ends the encoded input, the last partial
     * character (zero-filled) and the '=' padding are fixed too; those longer forms win under
     * longest-match, so `printf %s "$V" | base64` leaves no trailing bits of the value (whatever
     * the wrapping: the decoded view leaves the line breaks out).
     */
    private static void addBase64(List<byte[]> out, byte[] encoded, int k, int n) {
        int bits = 8 * (k + n);
        int from = LEADING_DROP[k];
        int stripped = encoded.length;
        while (encoded[stripped - 1] == '=') {
            stripped--;
        }
        out.add(Arrays.copyOfRange(encoded, from, bits / 6));
        out.add(Arrays.copyOfRange(encoded, from, stripped));
        out.add(Arrays.copyOfRange(encoded, from, encoded.length));
    }

    private static byte[] toUrlSafe(byte[] std) {
        byte[] url = std.clone();
        for (int i = 0; i < url.length; i++) {
            if (url[i] == '+') {
                url[i] = '-';
            } else if (url[i] == '/') {
                url[i] = '_';
            }
        }
        return url;
    }

    private static byte[] hex(byte[] value, byte[] digits) {
        byte[] out = new byte[2 * value.length];
        for (int i = 0; i < value.length; i++) {
            out[2 * i] = digits[(value[i] >> 4) & 0xF];
            out[2 * i + 1] = digits[value[i] & 0xF];
        }
        return out;
    }

    /** RFC 3986: every byte except ALPHA / DIGIT / "-" / "." / "_" / "~" becomes %XX. */
    private static byte[] percent(byte[] value, byte[] digits) {
        byte[] out = new byte[3 * value.length];
        int n = 0;
        for (byte b : value) {
            if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')
                    || b == '-' || b == '.' || b == '_' || b == '~') {
                out[n++] = b;
            } else {
                out[n++] = '%';
                out[n++] = digits[(b >> 4) & 0xF];
                out[n++] = digits[b & 0xF];
            }
        }
        return trim(out, n);
    }

    /**
     * The value as a JSON string body carries it: \" \\ and the short escapes \b \f \n \r \t (as
     * Jackson, Python's json and JavaScript write them), the six-character u00XX escape for other
     * control characters. Bytes from 0x7F up pass through (UTF-8 is written as is by default);
     * {@code slash} adds the optional \/ form some encoders use.
     */
    private static byte[] json(byte[] value, boolean upperHex, boolean slash) {
        byte[] digits = upperHex ? HEX_UPPER : HEX_LOWER;
        byte[] out = new byte[6 * value.length];
        int n = 0;
        for (byte b : value) {
            int escape = switch (b) {
                case '"' -> '"';
                case '\\' -> '\\';
                case '\b' -> 'b';
                case '\f' -> 'f';
                case '\n' -> 'n';
                case '\r' -> 'r';
                case '\t' -> 't';
                case '/' -> slash ? '/' : 0;
                default -> 0;
            };
            if (escape != 0) {
                out[n++] = '\\';
                out[n++] = (byte) escape;
            } else if (b >= 0 && b < 0x20) {
                out[n++] = '\\';
                out[n++] = 'u';
                out[n++] = '0';
                out[n++] = '0';
                out[n++] = digits[b >> 4];
                out[n++] = digits[b & 0xF];
            } else {
                out[n++] = b;
            }
        }
        return trim(out, n);
    }

    /** The first {@code n} bytes of {@code scratch}, which is zeroed. */
    private static byte[] trim(byte[] scratch, int n) {
        byte[] bytes = Arrays.copyOf(scratch, n);
        Arrays.fill(scratch, (byte) 0);
        return bytes;
    }
}

package dev.brokerctl.approval;

/**
 * Text from a requester made safe for a terminal or a log line. A requester can speak the socket
 * protocol directly, so anything it sends may carry escape sequences, line breaks, bidi overrides or
 * invisible characters meant to make the human read something other than what runs.
 *
 * <p>{@link #escape} writes each such code point as <code>&#92;u{XXXX}</code> (uppercase hex, at least four
 * digits): C0 and C1 controls (ESC, CR, LF, TAB, DEL included), bidi controls, zero-width and every
 * other format character, line and paragraph separators, spaces other than U+0020 (they look like
 * U+0020 but are not), lone surrogates, private-use and unassigned code points, and a few
 * characters that render as nothing although Unicode calls them letters or marks (Hangul fillers,
 * variation selectors, U+034F).
 *
 * <p>A backslash is doubled only where a raw one could be misread: before another backslash,
 * before an escaped code point, or before <code>u{</code>. Paths and regular expressions then read as
 * typed, and every output still decodes to exactly one input (<code>&#92;&#92;</code> is a backslash,
 * <code>&#92;u{X}</code> the code point X, any other backslash itself).
 *
 * <p>No dependencies and no allocation for text that needs no escape: the daemon escapes every log
 * line that carries requester text with it.
 */
public final class ConsoleText {

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private ConsoleText() {
    }

    /** The text with every code point listed above escaped; null reads as empty. */
    public static String escape(String s) {
        if (s == null) {
            return "";
        }
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (c < 0x20 || c >= 0x7f || c == '\\') {
                break;
            }
            i++;
        }
        if (i == n) {
            return s;
        }
        StringBuilder b = new StringBuilder(n + 16).append(s, 0, i);
        while (i < n) {
            i = appendOne(b, s, i);
        }
        return b.toString();
    }

    /**
     * The escaped text on one line of at most {@code width} display columns. When it does not fit,
     * it is cut (never inside an escape) and ends in {@code … (N chars)}, N the length of the
     * original text in code points, so the human knows there was more. Columns: East Asian wide
     * and fullwidth characters count 2, everything else 1 (combining marks too, which only
     * over-counts; ambiguous-width characters count 1).
     */
    public static String line(String s, int width) {
        if (width <= 0) {
            return "";
        }
        if (s == null) {
            s = "";
        }
        String escaped = escape(s);
        if (columns(escaped) <= width) {
            return escaped;
        }
        int length = s.codePointCount(0, s.length());
        String marker = "… (" + length + (length == 1 ? " char)" : " chars)");
        int room = width - marker.length();   // the marker is one column per char
        if (room < 0) {
            return marker.substring(0, width);
        }
        StringBuilder b = new StringBuilder(width + 8);
        int used = 0;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int mark = b.length();
            int next = appendOne(b, s, i);
            int w = c == '\\' || escaped(c) ? b.length() - mark : columns(c);
            if (used + w > room) {
                b.setLength(mark);
                break;
            }
            used += w;
            i = next;
        }
        return b.append(marker).toString();
    }

    /** True when {@link #escape} writes the code point as <code>&#92;u{XXXX}</code>. */
    static boolean escaped(int c) {
        if (c < 0xa0) {
            return c < 0x20 || c >= 0x7f;
        }
        if (c >= 0x202a && c <= 0x202e || c >= 0x2066 && c <= 0x2069 || c == 0x200e || c == 0x200f || c == 0x061c
                || c >= 0x200b && c <= 0x200d || c == 0x2060 || c == 0xfeff) {
            return true;   // bidi and zero-width: format characters already, named so a JDK change cannot drop them
        }
        if (c == 0x034f || c == 0x115f || c == 0x1160 || c == 0x3164 || c == 0xffa0 || c == 0x17b4 || c == 0x17b5
                || c >= 0x180b && c <= 0x180f || c >= 0xfe00 && c <= 0xfe0f || c >= 0xe0100 && c <= 0xe01ef) {
            return true;   // invisible, though Unicode files them as letters or marks
        }
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                    Character.SPACE_SEPARATOR, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED -> true;
            default -> false;
        };
    }

    /** Display columns of text that needs no escape (see {@link #line}). */
    static int columns(String safe) {
        int n = 0;
        for (int i = 0; i < safe.length(); ) {
            int c = safe.codePointAt(i);
            n += columns(c);
            i += Character.charCount(c);
        }
        return n;
    }

    static int columns(int c) {
        return wide(c) ? 2 : 1;
    }

    /** East Asian wide and fullwidth ranges, after Markus Kuhn's wcwidth, plus the common emoji blocks. */
    private static boolean wide(int c) {
        return c >= 0x1100 && (c <= 0x115f || c == 0x2329 || c == 0x232a
                || c >= 0x2e80 && c <= 0xa4cf && c != 0x303f || c >= 0xac00 && c <= 0xd7a3
                || c >= 0xf900 && c <= 0xfaff || c >= 0xfe10 && c <= 0xfe19 || c >= 0xfe30 && c <= 0xfe6f
                || c >= 0xff00 && c <= 0xff60 || c >= 0xffe0 && c <= 0xffe6
                || c >= 0x1f300 && c <= 0x1f64f || c >= 0x1f900 && c <= 0x1f9ff || c >= 0x20000 && c <= 0x3fffd);
    }

    /** Appends the output for the code point at {@code i}; returns the index after it. */
    private static int appendOne(StringBuilder b, String s, int i) {
        int c = s.codePointAt(i);
        int next = i + Character.charCount(c);
        if (c == '\\') {
            boolean misread = next < s.length()
                    && (s.charAt(next) == '\\' || s.startsWith("u{", next) || escaped(s.codePointAt(next)));
            b.append(misread ? "\\\\" : "\\");
        } else if (escaped(c)) {
            b.append("\\u{");
            int digits = Math.max(4, (35 - Integer.numberOfLeadingZeros(c)) / 4);
            for (int d = digits - 1; d >= 0; d--) {
                b.append(HEX[(c >>> (4 * d)) & 0xf]);
            }
            b.append('}');
        } else {
            b.appendCodePoint(c);
        }
        return next;
    }
}

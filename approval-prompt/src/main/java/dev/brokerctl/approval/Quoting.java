package dev.brokerctl.approval;

import java.util.List;

/**
 * Shows argv so that spaces, quotes and control characters are unambiguous: a plain word stays
 * bare, anything else is single-quoted, and a word with control or non-ASCII-printable characters
 * uses {@code $'...'} with escapes, as bash would print it.
 */
public final class Quoting {

    private Quoting() {
    }

    public static String argv(List<String> argv) {
        StringBuilder b = new StringBuilder();
        for (String a : argv) {
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(word(a));
        }
        return b.toString();
    }

    public static String word(String s) {
        if (!s.isEmpty() && s.chars().allMatch(c -> Character.isLetterOrDigit(c) && c < 128
                || "_./=:@%+,-".indexOf(c) >= 0)) {
            return s;
        }
        boolean plain = s.chars().noneMatch(c -> c < 0x20 || c == 0x7f || Character.isISOControl(c)
                || Character.getType(c) == Character.FORMAT);
        if (plain) {
            return "'" + s.replace("'", "'\\''") + "'";
        }
        StringBuilder b = new StringBuilder("$'");
        s.codePoints().forEach(c -> {
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                case '\'' -> b.append("\\'");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20 || c == 0x7f || Character.isISOControl(c) || Character.getType(c) == Character.FORMAT) {
                        b.append(c <= 0xff ? String.format("\\x%02x", c) : String.format("\\u%04x", c));
                    } else {
                        b.appendCodePoint(c);
                    }
                }
            }
        });
        return b.append('\'').toString();
    }
}

package dev.brokerctl.approval;

import java.util.List;

/**
 * Shows argv so that spaces, quotes and control characters are unambiguous: a plain word stays
 * bare, anything else is single-quoted, and a word with any character {@link ConsoleText} escapes
 * (controls, bidi, zero-width, ...) uses {@code $'...'} with escapes, as bash would print it.
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
        boolean plain = s.codePoints().noneMatch(ConsoleText::escaped);
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
                    if (!ConsoleText.escaped(c)) {
                        b.appendCodePoint(c);
                    } else if (c <= 0xff) {
                        b.append(String.format("\\x%02x", c));
                    } else if (c <= 0xffff) {
                        b.append(String.format("\\u%04x", c));
                    } else {
                        b.append(String.format("\\U%08x", c));
                    }
                }
            }
        });
        return b.append('\'').toString();
    }
}

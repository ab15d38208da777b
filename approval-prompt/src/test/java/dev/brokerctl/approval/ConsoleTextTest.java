package dev.brokerctl.approval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class ConsoleTextTest {

    @Test
    void controls_areEscaped() {
        assertEquals("a\\u{001B}[31mb", ConsoleText.escape("a\u001b[31mb"));
        assertEquals("\\u{000D}\\u{000A}\\u{0009}\\u{0000}\\u{007F}", ConsoleText.escape("\r\n\t\0\u007f"));
        assertEquals("\\u{0080}\\u{0085}\\u{009B}\\u{009F}", ConsoleText.escape("\u0080\u0085\u009b\u009f"));
    }

    @Test
    void bidiControls_areEscaped() {
        int[] bidi = {0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c};
        for (int c : bidi) {
            assertEquals("x\\u{" + String.format("%04X", c) + "}y", ConsoleText.escape("x" + (char) c + "y"));
        }
        assertEquals("evil\\u{202E}txt.exe", ConsoleText.escape("evil\u202etxt.exe"));
    }

    @Test
    void zeroWidthAndFormatCharacters_areEscaped() {
        assertEquals("a\\u{200B}b\\u{200C}\\u{200D}\\u{2060}\\u{FEFF}", ConsoleText.escape("a\u200bb\u200c\u200d\u2060\ufeff"));
        assertEquals("soft\\u{00AD}hyphen", ConsoleText.escape("soft\u00adhyphen"));
        assertEquals("tag\\u{E0041}", ConsoleText.escape("tag" + new String(Character.toChars(0xe0041))));
        assertEquals("\\u{FE0F}\\u{3164}\\u{034F}", ConsoleText.escape("\ufe0f\u3164\u034f"), "invisible letters and marks");
    }

    @Test
    void separatorsSurrogatesPrivateUseAndUnassigned_areEscaped() {
        assertEquals("a\\u{2028}b\\u{2029}c", ConsoleText.escape("a\u2028b\u2029c"));
        assertEquals("no\\u{00A0}break\\u{3000}", ConsoleText.escape("no\u00a0break\u3000"), "spaces that are not U+0020");
        assertEquals("\\u{D800}x\\u{DC00}", ConsoleText.escape("\ud800x\udc00"), "lone surrogates");
        assertEquals("\\u{E000}\\u{F0000}", ConsoleText.escape("\ue000" + new String(Character.toChars(0xf0000))));
        assertEquals("\\u{0378}\\u{FFFF}\\u{10FFFF}", ConsoleText.escape("\u0378\uffff" + new String(Character.toChars(0x10ffff))));
    }

    @Test
    void printableText_isUnchanged() {
        String ascii = "npm test --reporter=dot 'a b' \"c\" ~/x $HOME";
        assertSame(ascii, ConsoleText.escape(ascii), "plain ASCII is not copied");
        assertEquals("héllo 日本語 🚀 Ω", ConsoleText.escape("héllo 日本語 🚀 Ω"));
        assertEquals("", ConsoleText.escape(null));
    }

    @Test
    void backslash_isDoubledOnlyWhereARawOneCouldBeMisread() {
        assertEquals("C:\\Users\\x \\d+", ConsoleText.escape("C:\\Users\\x \\d+"));
        assertEquals("\\\\u{202E}", ConsoleText.escape("\\u{202E}"), "a literal escape is not an escape");
        assertEquals("\\\\\\u{202E}", ConsoleText.escape("\\\u202e"), "backslash before an escaped code point");
        assertEquals("a\\\\\\b", ConsoleText.escape("a\\\\b"), "backslash before a backslash");
        assertEquals("end\\", ConsoleText.escape("end\\"));
    }

    @Test
    void escape_decodesBackToExactlyItsInput() {
        String[] parts = {"\\", "u", "{", "}", "2", "E", "x", "\u202e", "\u0001", "\ud800", "😀", "\\u{", "}"};
        Random random = new Random(7);
        for (int n = 0; n < 20_000; n++) {
            StringBuilder s = new StringBuilder();
            for (int k = random.nextInt(8); k >= 0; k--) {
                s.append(parts[random.nextInt(parts.length)]);
            }
            assertEquals(s.toString(), decode(ConsoleText.escape(s.toString())), () -> "escape(" + s + ")");
        }
    }

    /**
     * Every code point alone and between letters: nothing a terminal obeys or hides gets through.
     * Tagged: a second per run, too slow to repeat for each of PIT's mutants.
     */
    @Test
    @Tag("exhaustive")
    void escape_neverOutputsAControlFormatBidiOrInvisibleCharacter() {
        for (int c = 0; c <= Character.MAX_CODE_POINT; c++) {
            String in = "a" + new String(Character.toChars(c)) + "b";
            String out = ConsoleText.escape(in);
            for (int i = 0; i < out.length(); ) {
                int o = out.codePointAt(i);
                int type = Character.getType(o);
                if (o < 0x20 || o >= 0x7f && o <= 0x9f || type == Character.FORMAT || type == Character.CONTROL
                        || type == Character.SURROGATE || type == Character.UNASSIGNED || type == Character.PRIVATE_USE
                        || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR
                        || o >= 0x202a && o <= 0x202e || o >= 0x2066 && o <= 0x2069 || o == 0x200e || o == 0x200f
                        || o == 0x061c || o >= 0x200b && o <= 0x200d || o == 0x2060 || o == 0xfeff) {
                    fail(String.format("U+%04X comes out with U+%04X raw: %s", c, o, out));
                }
                i += Character.charCount(o);
            }
            if (ConsoleText.escaped(c)) {
                assertEquals("a\\u{" + String.format("%04X", c) + "}b", out);
            }
        }
    }

    @Test
    void line_keepsShortTextWhole() {
        assertEquals("npm test", ConsoleText.line("npm test", 8));
        assertEquals("a\\u{000A}b", ConsoleText.line("a\nb", 20));
    }

    @Test
    void line_cutsToTheWidthAndNamesTheOriginalLength() {
        assertEquals("aaaaaaa… (100 chars)", ConsoleText.line("a".repeat(100), 20));
        assertEquals("\\u{202E}… (10 chars)", ConsoleText.line("\u202e".repeat(10), 20), "never cut inside an escape");
        assertEquals("\\u{202E}… (10 chars)", ConsoleText.line("\u202e".repeat(10), 27));
        assertEquals("日本… (9 chars)", ConsoleText.line("日本語日本語日本語", 15), "wide characters count two columns");
        assertEquals("… (10", ConsoleText.line("0123456789", 5), "even the marker is cut to the width");
        assertEquals("", ConsoleText.line("abc", 0));
    }

    @Test
    void line_neverExceedsItsWidth() {
        Random random = new Random(11);
        String[] parts = {"a", " ", "\n", "\u202e", "日", "😀", "\\", "u{", "\ud800", "é"};
        for (int n = 0; n < 5_000; n++) {
            StringBuilder s = new StringBuilder();
            for (int k = random.nextInt(200); k >= 0; k--) {
                s.append(parts[random.nextInt(parts.length)]);
            }
            int width = 1 + random.nextInt(100);
            String line = ConsoleText.line(s.toString(), width);
            assertTrue(ConsoleText.columns(line) <= width, () -> width + ": " + line);
            String whole = ConsoleText.escape(s.toString());
            int length = s.codePointCount(0, s.length());
            if (!line.equals(whole) && width >= 20) {
                assertTrue(line.endsWith("… (" + length + (length == 1 ? " char)" : " chars)")), line);
                assertTrue(whole.startsWith(line.substring(0, line.lastIndexOf('…'))), line);
            }
        }
    }

    private static String decode(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); ) {
            if (s.startsWith("\\\\", i)) {
                b.append('\\');
                i += 2;
            } else if (s.startsWith("\\u{", i)) {
                int end = s.indexOf('}', i);
                b.appendCodePoint(Integer.parseInt(s.substring(i + 3, end), 16));
                i = end + 1;
            } else {
                b.append(s.charAt(i++));
            }
        }
        return b.toString();
    }
}

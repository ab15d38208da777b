package dev.brokerctl.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OutputCaptureTest {

    private static void append(OutputCapture c, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        c.append(b, 0, b.length);
    }

    @Test
    void smallOutput_isKeptWhole_evenAcrossTheHeadBoundary() {
        OutputCapture c = new OutputCapture();
        String s = "é".repeat(OutputCapture.HEAD);   // 2 bytes each: crosses into the tail, cut mid-character
        append(c, s);
        assertFalse(c.truncated());
        assertEquals(s, c.text());
    }

    @Test
    void largeOutput_keepsHeadAndTail_andSaysHowMuchWasLeftOut() {
        OutputCapture c = new OutputCapture();
        append(c, "H".repeat(OutputCapture.HEAD));
        for (int i = 0; i < 100; i++) {
            append(c, "m".repeat(1000));
        }
        append(c, "T".repeat(OutputCapture.TAIL));
        assertTrue(c.truncated());
        String text = c.text();
        assertTrue(text.startsWith("H".repeat(OutputCapture.HEAD) + "\n[... brokerctl: 100000 bytes of output omitted"),
                text.substring(OutputCapture.HEAD, OutputCapture.HEAD + 60));
        assertTrue(text.endsWith("]\n" + "T".repeat(OutputCapture.TAIL)));
        assertEquals(OutputCapture.HEAD + OutputCapture.TAIL + 100_000, c.totalBytes());
    }

    @Test
    void cutsNeverShowHalfACharacter() {
        OutputCapture c = new OutputCapture();
        append(c, "a".repeat(OutputCapture.HEAD - 1) + "€");       // the euro sign straddles the head's end
        append(c, "x".repeat(OutputCapture.TAIL * 2 + 1) + "€".repeat(100));
        String text = c.text();
        assertFalse(text.contains("\uFFFD"), "no replacement characters at the cuts");
        assertTrue(text.endsWith("€".repeat(100)));
    }

    @Test
    void invalidUtf8_becomesReplacementCharacters() {
        OutputCapture c = new OutputCapture();
        c.append(new byte[] {'o', 'k', (byte) 0xff, '!'}, 0, 4);
        assertEquals("ok\uFFFD!", c.text());
    }

    @Test
    void toString_showsSizesNotOutput() {
        OutputCapture c = new OutputCapture();
        append(c, "token=abc123");
        assertFalse(c.toString().contains("abc123"));
    }

    @Test
    void oneChunkLargerThanTheTail_keepsItsEnd() {
        OutputCapture c = new OutputCapture();
        byte[] b = new byte[OutputCapture.HEAD + OutputCapture.TAIL * 3];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) ('a' + (i % 26));
        }
        c.append(b, 0, b.length);
        String text = c.text();
        String expectedTail = new String(b, b.length - OutputCapture.TAIL, OutputCapture.TAIL, StandardCharsets.US_ASCII);
        assertTrue(text.endsWith(expectedTail));
        assertTrue(text.startsWith(new String(b, 0, OutputCapture.HEAD, StandardCharsets.US_ASCII)));
    }
}

package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RunOutputTest {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void pagesFromAnOffset_endOnACharacterBoundary_andPutTogetherAreTheOutput() {
        RunOutput o = new RunOutput();
        String text = "äöü€😀".repeat(1000);
        byte[] b = bytes(text);
        for (int i = 0; i < b.length; i += 7) {
            o.append(b, i, Math.min(7, b.length - i));
        }
        StringBuilder all = new StringBuilder();
        long offset = 0;
        while (offset < o.total()) {
            Map<String, Object> page = o.page(offset, 100);
            assertEquals(offset, page.get("offset"));
            String t = (String) page.get("text");
            assertFalse(t.contains("\uFFFD"), "no character cut in two");
            all.append(t);
            offset = (Long) page.get("next_offset");
        }
        assertEquals(text, all.toString());
        assertEquals(false, o.page(offset, 100).get("truncated"));
    }

    @Test
    void firstLook_atALongStream_isHeadAndTail_withinTheLimit() {
        RunOutput o = new RunOutput();
        byte[] b = bytes("x".repeat(10_000) + "END");
        o.append(b, 0, b.length);
        Map<String, Object> page = o.page(null, 1000);
        String t = (String) page.get("text");
        assertTrue(t.startsWith("x".repeat(250)) && t.endsWith("END"), t);
        assertEquals(true, page.get("truncated"));
        assertEquals(10_003L, page.get("next_offset"));
        assertEquals(10_003L - 1000, page.get("skipped_bytes"));
    }

    @Test
    void pastTheCap_theMiddleIsDropped_andAReaderSkipsTheGapSaying() {
        RunOutput o = new RunOutput();
        byte[] chunk = new byte[64 * 1024];
        long total = RunOutput.HEAD_BYTES + RunOutput.TAIL_BYTES + 4L * chunk.length;
        for (long n = 0; n < total; n += chunk.length) {
            o.append(chunk, 0, chunk.length);
        }
        assertEquals(total, o.total());
        assertTrue(o.held() <= RunOutput.HEAD_BYTES + RunOutput.TAIL_BYTES, "bounded: " + o.held());
        Map<String, Object> inGap = o.page((long) RunOutput.HEAD_BYTES, 100);
        long skipped = (Long) inGap.get("skipped_bytes");
        assertTrue(skipped > 0, "the dropped bytes are reported");
        assertEquals(RunOutput.HEAD_BYTES + skipped, inGap.get("offset"));
        assertEquals(true, inGap.get("truncated"));
    }

    @Test
    void discarded_keepsOffsets_butNoBytes() {
        RunOutput o = new RunOutput();
        o.append(bytes("hello"), 0, 5);
        o.discard();
        Map<String, Object> page = o.page(0L, 100);
        assertEquals("", page.get("text"));
        assertEquals(5L, page.get("total_bytes"));
        assertEquals(true, page.get("discarded"));
        assertEquals(0L, o.held());
    }

    @Test
    void toString_showsSizesOnly() {
        RunOutput o = new RunOutput();
        o.append(bytes("secret-looking output"), 0, 21);
        assertFalse(o.toString().contains("secret"), o.toString());
    }
}

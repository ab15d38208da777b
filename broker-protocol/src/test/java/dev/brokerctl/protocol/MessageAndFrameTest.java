package dev.brokerctl.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MessageAndFrameTest {

    @Test
    void message_roundTripsThroughJson() throws Exception {
        Message m = Message.of("run").with("argv", List.of("a b", "\"q\"", "ü")).with("n", 42)
                .with("env", Map.of("K", "v")).with("flag", true).with("none", null);
        Message back = Message.parse(m.toJson());
        assertEquals("run", back.type());
        assertEquals(List.of("a b", "\"q\"", "ü"), back.strings("argv"));
        assertEquals(42, back.number("n", 0));
        assertEquals(Map.of("K", "v"), back.stringMap("env"));
        assertTrue(back.bool("flag", false));
        assertFalse(back.has("none"));
    }

    @Test
    void badJson_isBadRequest_withAUsefulMessage() {
        for (String bad : List.of("", "{", "[]", "\"x\"", "{\"a\":1} trailing", "{\"a\":}")) {
            BrokerException e = assertThrows(BrokerException.class,
                    () -> Message.parse(bad.getBytes(StandardCharsets.UTF_8)), bad);
            assertEquals(ErrorCode.BAD_REQUEST, e.code());
        }
        String deep = "{\"a\":".repeat(40) + "1" + "}".repeat(40);
        assertThrows(BrokerException.class, () -> Message.parse(deep.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void wrongFieldType_namesTheField() throws Exception {
        Message m = Message.parse("{\"type\":\"run\",\"argv\":\"ls\"}".getBytes(StandardCharsets.UTF_8));
        BrokerException e = assertThrows(BrokerException.class, () -> m.strings("argv"));
        assertEquals("'run' message: field 'argv' must be a list of strings", e.getMessage());
    }

    @Test
    void frames_roundTrip_andRefuseOversizeAndUnknownKinds() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Frame.write(out, Frame.STDOUT, "hello".getBytes(StandardCharsets.UTF_8), 0, 5);
        Frame.write(out, Frame.STDIN_EOF, new byte[0], 0, 0);
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(out.toByteArray()));
        Frame a = Frame.read(in);
        assertEquals(Frame.STDOUT, a.kind());
        assertEquals("hello", new String(a.payload(), StandardCharsets.UTF_8));
        assertEquals("Frame[O, 5 bytes]", a.toString(), "payloads never print");
        assertEquals(0, Frame.read(in).payload().length);
        assertNull(Frame.read(in));

        byte[] huge = {0x7f, 0, 0, 0, 'J'};
        assertThrows(Frame.MalformedFrameException.class,
                () -> Frame.read(new DataInputStream(new ByteArrayInputStream(huge))));
        byte[] unknown = {0, 0, 0, 1, 'Q'};
        assertThrows(Frame.MalformedFrameException.class,
                () -> Frame.read(new DataInputStream(new ByteArrayInputStream(unknown))));
        byte[] cut = {0, 0, 0, 9, 'J', '{'};
        assertThrows(Frame.MalformedFrameException.class,
                () -> Frame.read(new DataInputStream(new ByteArrayInputStream(cut))));
    }

    @Test
    void durations_parseHumanForms() {
        assertEquals(Duration.ofSeconds(90), Durations.parse("90s"));
        assertEquals(Duration.ofMinutes(90), Durations.parse("1h30m"));
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals("2m", Durations.format(Duration.ofSeconds(120)));
        assertEquals("300ms", Durations.format(Duration.ofMillis(300)));
        for (String bad : List.of("", "10", "s", "1x", "1h 2m", "-1s")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad));
            assertTrue(e.getMessage().contains("e.g. 90s"), e.getMessage());
        }
    }

    @Test
    void socketPath_followsTheDesignRule() {
        assertEquals("/s/x.sock", BrokerPaths.from(Map.of("BROKERCTL_SOCKET", "/s/x.sock"), "/h").socket().toString());
        assertEquals("/run/user/1/brokerctl/brokerd.sock",
                BrokerPaths.from(Map.of("XDG_RUNTIME_DIR", "/run/user/1"), "/h").socket().toString());
        assertEquals("/b/run/brokerd.sock", BrokerPaths.from(Map.of("BROKERCTL_HOME", "/b",
                "XDG_RUNTIME_DIR", "/run/user/1"), "/h").socket().toString(),
                "an explicit home gets its own socket");
    }
}

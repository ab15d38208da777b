package dev.brokerctl.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;

/**
 * Fuzz tests of what a requester sends first: the frame decoder and the JSON message parser
 * (Jazzer; the committed seeds in {@code FrameFuzzTestInputs/} run in every build, {@code
 * JAZZER_FUZZ=1} fuzzes, docs/testing.md). Any bytes give frames or a {@link
 * Frame.MalformedFrameException}/{@link EOFException}, never another exception; a frame read is
 * exactly the bytes it came from; a message either parses to a BAD_REQUEST or survives its own
 * round trip.
 */
class FrameFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void framesDecodeOrRefuse(byte[] input) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(input));
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        int consumed = 0;
        while (true) {
            Frame f;
            try {
                f = Frame.read(in);
            } catch (Frame.MalformedFrameException | EOFException e) {
                assertTrue(e.getMessage() == null || e.getMessage().length() < 200, "a short message");
                break;
            }
            if (f == null) {
                assertEquals(input.length, consumed, "a clean end only between frames");
                break;
            }
            assertTrue(f.payload().length < Frame.MAX_FRAME_BYTES, "bounded payload");
            Frame.write(again, f.kind(), f.payload(), 0, f.payload().length);
            consumed += 5 + f.payload().length;
            if (f.kind() == Frame.JSON) {
                parsesOrRefuses(f.payload());
            }
        }
        byte[] prefix = java.util.Arrays.copyOf(input, again.size());
        assertArrayEquals(prefix, again.toByteArray(), "frames re-encode to the bytes they came from");
    }

    @FuzzTest(maxDuration = "5m")
    void messagesParseOrRefuse(byte[] json) {
        parsesOrRefuses(json);
    }

    private static void parsesOrRefuses(byte[] json) {
        Message m;
        try {
            m = Message.parse(json);
        } catch (BrokerException e) {
            assertEquals(ErrorCode.BAD_REQUEST, e.code(), "a parse error is a bad request");
            return;
        }
        Message back;
        try {
            back = Message.parse(m.toJson());
        } catch (BrokerException e) {
            throw new AssertionError("a parsed message does not parse again: " + e.getMessage());
        }
        assertEquals(m.asMap(), back.asMap(), "a parsed message survives its round trip");
        m.toString();   // never throws, whatever the fields
    }
}

package dev.brokerctl.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class SealedTest {

    private static final byte[] KEY = new byte[32];

    static {
        java.util.Arrays.fill(KEY, (byte) 0x11);
    }

    private static final byte[] OK = "{\"type\":\"ok\"}".getBytes(StandardCharsets.UTF_8);

    @Test
    void knownAnswer_firstFrameClientToDaemon() {
        // computed with Python's cryptography AESGCM from the layout in Sealed's javadoc
        byte[] sealed = new Sealed(KEY, Sealed.CLIENT_TO_DAEMON).seal(Frame.JSON, OK, 0, OK.length);
        assertEquals("00000000000000008eb13c1398dff8bb3b38d26ef98ffe40669a2557eec1942845641860e0e6",
                HexFormat.of().formatHex(sealed));
    }

    @Test
    void roundTrip_thenReplayAlteredAndWrongDirection_doNotOpen() throws Exception {
        Sealed out = new Sealed(KEY, Sealed.CLIENT_TO_DAEMON);
        Sealed in = new Sealed(KEY, Sealed.CLIENT_TO_DAEMON);
        byte[] first = out.seal(Frame.JSON, OK, 0, OK.length);
        byte[] secret = out.seal(Frame.SECRET, new byte[] {1, 2, 3}, 0, 3);
        Frame f = in.open(new Frame(Frame.SEALED, first));
        assertEquals(Frame.JSON, f.kind());
        assertArrayEquals(OK, f.payload());
        // replaying the first frame where the second is due
        assertThrows(Sealed.TamperedException.class, () -> in.open(new Frame(Frame.SEALED, first)));
        byte[] altered = secret.clone();
        altered[12] ^= 1;
        assertThrows(Sealed.TamperedException.class, () -> in.open(new Frame(Frame.SEALED, altered)));
        Frame s = in.open(new Frame(Frame.SEALED, secret));
        assertEquals(Frame.SECRET, s.kind());
        assertArrayEquals(new byte[] {1, 2, 3}, s.payload());
        // reflected back the other way
        Sealed otherWay = new Sealed(KEY, Sealed.DAEMON_TO_CLIENT);
        assertThrows(Sealed.TamperedException.class, () -> otherWay.open(new Frame(Frame.SEALED, first)));
        // an unsealed frame on a sealed connection
        assertThrows(Sealed.TamperedException.class, () -> otherWay.open(new Frame(Frame.JSON, OK)));
    }
}

package dev.brokerctl.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Known answers for {@link Handshake}: fixed PSK and nonces give fixed proofs and session keys.
 * The vectors were computed with an independent implementation of the construction documented
 * in Handshake's javadoc (Python's hmac/hashlib), so they pin the construction, not this code.
 */
class HandshakeKnownAnswerTest {

    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] PSK = new byte[32];
    private static final byte[] CLIENT_NONCE = new byte[32];
    private static final byte[] DAEMON_NONCE = new byte[32];

    static {
        for (int i = 0; i < 32; i++) {
            PSK[i] = (byte) i;
            CLIENT_NONCE[i] = (byte) (0xa0 + i % 16);
            DAEMON_NONCE[i] = (byte) (0x50 + i);
        }
    }

    @Test
    void approverRole_fixedProofsAndKeys() {
        check(Handshake.Role.APPROVER,
                "90b0ed3e1c52c021b64daa50182e6aeee50c5f5985789889810221c597be1bcc",
                "fb8fbbfe7c52b32bae7ca2950660e48bfb348fbeed1373af450274424044eceb",
                "66bb86d0a897b4cc0974235099136ab618e2dd4171faf71f9eff4ff02ed1028a",
                "a60f66cb9fd8484bff234f50f07b03d48caa1dbb49b86af1ffb79879005dd39f",
                "ec5a5ba1e19d62b0c17a46bc95c852623fe739ceb1726b74fac533637296757d");
    }

    @Test
    void unlockRole_fixedProofsAndKeys_otherThanTheApprovers() {
        check(Handshake.Role.UNLOCK,
                "458d34f41c6532712fcecda66f85bc87205921a92ea36c9a56d765c7f1bd7042",
                "204d78b4f785483644def0c9859c7ce422316ddf4676acb8c7863baaf601e2da",
                "f0f3f0d26c04b7bd92cfda98af85acbd409385ae9b6a5dc2ddd3ef90362bc62b",
                "43c5b1764c1303165201b8b88bdc9b6f6ccd76250ca1a3d1c37648068698a242",
                "26c1580402da4aa0585cb25ea27d00d21c1a6ee5a640f839a98469ebc8498a9d");
    }

    private static void check(Handshake.Role role, String daemonProof, String clientProof, String c2d,
            String d2c, String unlock) {
        Handshake h = Handshake.of(role, PSK, CLIENT_NONCE, DAEMON_NONCE);
        assertEquals(daemonProof, HEX.formatHex(h.daemonProof()));
        assertEquals(clientProof, HEX.formatHex(h.clientProof()));
        Handshake.SessionKeys k = h.sessionKeys();
        assertEquals(c2d, HEX.formatHex(k.clientToDaemon()));
        assertEquals(d2c, HEX.formatHex(k.daemonToClient()));
        assertEquals(unlock, HEX.formatHex(k.unlockTransport()));
        assertEquals("SessionKeys[redacted]", k.toString());
        assertTrue(h.daemonProofMatches(HEX.parseHex(daemonProof)));
        assertTrue(h.clientProofMatches(HEX.parseHex(clientProof)));
        // a daemon proof is no client proof (role labels), and another nonce is another transcript
        assertFalse(h.clientProofMatches(HEX.parseHex(daemonProof)));
        byte[] otherNonce = CLIENT_NONCE.clone();
        otherNonce[0] ^= 1;
        assertFalse(Handshake.of(role, PSK, otherNonce, DAEMON_NONCE).daemonProofMatches(HEX.parseHex(daemonProof)));
        byte[] otherKey = PSK.clone();
        otherKey[31] ^= 1;
        assertFalse(Handshake.of(role, otherKey, CLIENT_NONCE, DAEMON_NONCE).daemonProofMatches(HEX.parseHex(daemonProof)));
    }

    @Test
    void hkdfExpand_rfc5869TestCase1() {
        byte[] prk = HEX.parseHex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
        assertArrayEquals(HEX.parseHex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
                Handshake.expand(prk, HEX.parseHex("f0f1f2f3f4f5f6f7f8f9"), 42));
        // and its extract step
        assertArrayEquals(prk, Handshake.hmac(HEX.parseHex("000102030405060708090a0b0c"),
                HEX.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")));
    }
}

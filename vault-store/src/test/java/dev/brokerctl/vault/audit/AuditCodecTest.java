package dev.brokerctl.vault.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The plaintext layout of an entry and the chain MAC, without a vault. */
class AuditCodecTest {

    private static final Instant T = Instant.parse("2025-03-04T05:06:07.089Z");

    @Test
    void encodeThenDecode_keepsEveryFieldAndTheDetailOrder() {
        Map<String, Object> details = AuditDetails.of("run_id", "r-1",
                "argv", List.of("sh", "-c", "echo \"quoted\" 'x'\nnext line", ""),
                "exit_code", -1, "duration_ms", Long.MAX_VALUE, "client", "agent ünïcödé ✓");
        byte[] plain = AuditCodec.encode(T, AuditEvent.RUN_EXITED, "dev", details);
        AuditEntry e = AuditCodec.decode(42, plain);
        assertEquals(42, e.seq());
        assertEquals(T, e.time());
        assertEquals(AuditEvent.RUN_EXITED, e.type());
        assertEquals("dev", e.environment());
        assertEquals(details, e.details());
        assertEquals(List.copyOf(details.keySet()), List.copyOf(e.details().keySet()));
    }

    @Test
    void nullEnvironmentAndNoDetails_roundTrip() {
        AuditEntry e = AuditCodec.decode(1, AuditCodec.encode(T, AuditEvent.LOCKED, null, Map.of()));
        assertNull(e.environment());
        assertEquals(Map.of(), e.details());
    }

    @Test
    void everyEventRoundTrips_byItsName() {
        for (AuditEvent type : AuditEvent.values()) {
            assertEquals(type, AuditCodec.decode(1, AuditCodec.encode(T, type, null, Map.of())).type());
            assertEquals(type, AuditEvent.parse(type.id()));
        }
    }

    @Test
    void unknownEventType_saysItMayBeFromANewerVersion() {
        byte[] plain = AuditCodec.encode(T, AuditEvent.LOCKED, null, Map.of());
        byte[] renamed = new String(plain, StandardCharsets.ISO_8859_1).replace("LOCKED", "LOCKEX")
                .getBytes(StandardCharsets.ISO_8859_1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AuditCodec.decode(1, renamed));
        assertEquals("unknown event type LOCKEX (written by a newer brokerctl?)", e.getMessage());
    }

    @Test
    void malformedPlaintext_isRefused() {
        byte[] plain = AuditCodec.encode(T, AuditEvent.RUN_STARTED, "dev", AuditDetails.of("argv", List.of("a", "b")));
        assertThrows(IllegalArgumentException.class, () -> AuditCodec.decode(1, Arrays.copyOf(plain, plain.length - 1)));
        assertThrows(IllegalArgumentException.class, () -> AuditCodec.decode(1, Arrays.copyOf(plain, plain.length + 1)));
        byte[] layout = plain.clone();
        layout[0] = 2;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> AuditCodec.decode(1, layout))
                .getMessage().startsWith("unknown entry layout 2"));
        assertThrows(IllegalArgumentException.class, () -> AuditCodec.decode(1, new byte[0]));
    }

    @Test
    void detailsOf_refusesOddArgumentsAndDuplicates() {
        assertThrows(IllegalArgumentException.class, () -> AuditDetails.of("run_id"));
        assertThrows(IllegalArgumentException.class, () -> AuditDetails.of("a", 1, "a", 2));
        assertThrows(IllegalArgumentException.class, () -> AuditDetails.of(1, "x"));
    }

    @Test
    void tooLongStrings_areRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> AuditDetails.of("reason", "x".repeat(AuditDetails.MAX_STRING_CHARS + 1)));
    }

    @Test
    void chainLink_dependsOnPreviousMacSequenceAndCiphertext() {
        byte[] key = new byte[32];
        byte[] ct = {1, 2, 3};
        byte[] base = AuditChain.link(key, AuditChain.zeroMac(), 1, ct);
        assertEquals(AuditChain.MAC_BYTES, base.length);
        assertArrayEquals(base, AuditChain.link(key, AuditChain.zeroMac(), 1, ct.clone()));
        byte[] otherPrev = AuditChain.zeroMac();
        otherPrev[31] = 1;
        assertTrue(!Arrays.equals(base, AuditChain.link(key, otherPrev, 1, ct)));
        assertTrue(!Arrays.equals(base, AuditChain.link(key, AuditChain.zeroMac(), 2, ct)));
        assertTrue(!Arrays.equals(base, AuditChain.link(key, AuditChain.zeroMac(), 1, new byte[] {1, 2, 4})));
        byte[] otherKey = new byte[32];
        otherKey[0] = 1;
        assertTrue(!Arrays.equals(base, AuditChain.link(otherKey, AuditChain.zeroMac(), 1, ct)));
    }

    @Test
    void head_encodesAndDecodes_andRefusesOtherLengths() {
        byte[] mac = AuditChain.link(new byte[32], AuditChain.zeroMac(), 7, new byte[] {9});
        AuditChain.Head head = AuditChain.Head.decode(new AuditChain.Head(7, mac).encode());
        assertEquals(7, head.seq());
        assertArrayEquals(mac, head.mac());
        assertThrows(IllegalArgumentException.class, () -> AuditChain.Head.decode(new byte[39]));
        assertEquals(0, AuditChain.Head.genesis().seq());
    }

    @Test
    void verificationText_countsEntries() {
        assertEquals("audit log intact: 3 entries", AuditVerification.intact(3).toString());
        assertEquals("audit log damaged: entry 2 was modified",
                AuditVerification.broken(1, 2, "entry 2 was modified").toString());
    }
}

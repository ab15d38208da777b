package dev.brokerctl.vault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Known-answer tests for {@link HmacSha256#mac}: RFC 4231 test cases 1, 2 and 4. */
class HmacSha256RfcVectorTest {

    private static final String TEST_CASE_2_MAC =
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    private static byte[] hex(String hex) {
        return HexFormat.of().parseHex(hex);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] filled(int length, int value) {
        byte[] out = new byte[length];
        Arrays.fill(out, (byte) value);
        return out;
    }

    @Test
    void testCase1_matchesRfc() {
        byte[] mac = HmacSha256.mac(filled(20, 0x0b), ascii("Hi There"));

        assertArrayEquals(
                hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"), mac);
    }

    @Test
    void testCase2_keyShorterThanBlock_matchesRfc() {
        byte[] mac = HmacSha256.mac(ascii("Jefe"), ascii("what do ya want for nothing?"));

        assertArrayEquals(hex(TEST_CASE_2_MAC), mac);
    }

    /** The parts are concatenated: splitting the RFC message changes nothing. */
    @Test
    void testCase2_messageInParts_sameAsWhole() {
        byte[] mac = HmacSha256.mac(ascii("Jefe"),
                ascii("what do ya "), new byte[0], ascii("want for nothing?"));

        assertArrayEquals(hex(TEST_CASE_2_MAC), mac);
    }

    @Test
    void testCase4_matchesRfc() {
        byte[] key = new byte[25];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) (i + 1);
        }

        byte[] mac = HmacSha256.mac(key, filled(50, 0xcd));

        assertArrayEquals(
                hex("82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"), mac);
    }
}

package dev.brokerctl.vault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Known-answer tests for {@link Hkdf#sha256}: RFC 5869 appendix A, test cases 1 to 3 (the
 * SHA-256 ones). Only OKM is checked; the intermediate PRK is not exposed by {@link Hkdf}.
 */
class HkdfRfc5869VectorTest {

    /** RFC 5869 A.3: OKM for zero-length salt and info. */
    private static final String TEST_CASE_3_OKM =
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8";

    private static byte[] hex(String hex) {
        return HexFormat.of().parseHex(hex);
    }

    /** Bytes {@code from, from + 1, ..., toExclusive - 1}. */
    private static byte[] range(int from, int toExclusive) {
        byte[] out = new byte[toExclusive - from];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (from + i);
        }
        return out;
    }

    private static byte[] filled(int length, int value) {
        byte[] out = new byte[length];
        Arrays.fill(out, (byte) value);
        return out;
    }

    @Test
    void testCase1_basic_matchesRfc() {
        byte[] okm = Hkdf.sha256(filled(22, 0x0b), range(0x00, 0x0d), range(0xf0, 0xfa), 42);

        assertArrayEquals(hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                + "34007208d5b887185865"), okm);
    }

    @Test
    void testCase2_longerInputsAndOutput_matchesRfc() {
        byte[] okm = Hkdf.sha256(range(0x00, 0x50), range(0x60, 0xb0), range(0xb0, 0x100), 82);

        assertArrayEquals(hex("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
                + "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
                + "cc30c58179ec3e87c14c01d5c1f3434f1d87"), okm);
    }

    @Test
    void testCase3_zeroLengthSaltAndInfo_matchesRfc() {
        byte[] okm = Hkdf.sha256(filled(22, 0x0b), new byte[0], new byte[0], 42);

        assertArrayEquals(hex(TEST_CASE_3_OKM), okm);
    }

    /** RFC 5869 section 2.2: a salt that is not provided means HashLen zero bytes. */
    @Test
    void testCase3_absentSaltAndInfo_sameAsZeroLength() {
        byte[] ikm = filled(22, 0x0b);

        assertArrayEquals(hex(TEST_CASE_3_OKM), Hkdf.sha256(ikm, null, null, 42));
        assertArrayEquals(hex(TEST_CASE_3_OKM), Hkdf.sha256(ikm, new byte[32], null, 42));
    }
}

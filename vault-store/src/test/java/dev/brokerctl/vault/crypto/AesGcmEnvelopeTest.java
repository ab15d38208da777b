package dev.brokerctl.vault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.Test;

/**
 * The vault's envelope {@code version(1) | nonce(12) | ciphertext | tag(16)}: anything but the
 * exact bytes {@link AesGcm#seal} produced, under the same key and AAD, must fail to open.
 */
class AesGcmEnvelopeTest {

    private static final byte[] KEY = sequence(AesGcm.KEY_BYTES, 0x40);
    private static final byte[] OTHER_KEY = sequence(AesGcm.KEY_BYTES, 0x41);
    private static final byte[] PLAINTEXT = ascii("s3cr3t-api-token-value");
    private static final byte[] AAD = ascii("brokerctl/v1/value|env=dev|name=API_TOKEN");

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] sequence(int length, int first) {
        byte[] out = new byte[length];
        for (int i = 0; i < length; i++) {
            out[i] = (byte) (first + i);
        }
        return out;
    }

    /** A fixed nonce, so the tamper tests run on the same envelope every time. */
    private static SecureRandom fixedNonce() {
        return new SecureRandom() {
            @Override
            public void nextBytes(byte[] bytes) {
                for (int i = 0; i < bytes.length; i++) {
                    bytes[i] = (byte) (0xa0 + i);
                }
            }
        };
    }

    private static byte[] sealed() {
        return AesGcm.seal(KEY, PLAINTEXT, AAD, fixedNonce());
    }

    @Test
    void sealThenOpen_returnsThePlaintext() throws Exception {
        byte[] envelope = AesGcm.seal(KEY, PLAINTEXT, AAD, new SecureRandom());

        assertArrayEquals(PLAINTEXT, AesGcm.open(KEY, envelope, AAD));
    }

    @Test
    void emptyPlaintext_roundTrips() throws Exception {
        byte[] envelope = AesGcm.seal(KEY, new byte[0], AAD, new SecureRandom());

        assertEquals(1 + AesGcm.NONCE_BYTES + AesGcm.TAG_BITS / 8, envelope.length);
        assertArrayEquals(new byte[0], AesGcm.open(KEY, envelope, AAD));
    }

    @Test
    void envelope_hasVersionNonceCiphertextAndTag() {
        byte[] envelope = sealed();

        assertEquals(1 + AesGcm.NONCE_BYTES + PLAINTEXT.length + AesGcm.TAG_BITS / 8,
                envelope.length);
        assertEquals(AesGcm.ENVELOPE_VERSION, envelope[0]);
        assertArrayEquals(sequence(AesGcm.NONCE_BYTES, 0xa0),
                Arrays.copyOfRange(envelope, 1, 1 + AesGcm.NONCE_BYTES));
        byte[] body = Arrays.copyOfRange(envelope, 1 + AesGcm.NONCE_BYTES, envelope.length);
        assertArrayEquals(AesGcm.encrypt(KEY, sequence(AesGcm.NONCE_BYTES, 0xa0), PLAINTEXT, AAD),
                body);
    }

    /** Every bit of every byte: version, nonce, ciphertext and tag are all covered. */
    @Test
    void flippedBit_atEveryPosition_failsWithBadTag() {
        byte[] envelope = sealed();
        List<String> opened = new ArrayList<>();

        for (int pos = 0; pos < envelope.length; pos++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] tampered = envelope.clone();
                tampered[pos] ^= (byte) (1 << bit);
                try {
                    AesGcm.open(KEY, tampered, AAD);
                    opened.add("byte " + pos + " bit " + bit);
                } catch (AEADBadTagException expected) {
                    // the only acceptable outcome
                }
            }
        }

        assertTrue(opened.isEmpty(), () -> "tampered envelopes opened: " + opened);
    }

    @Test
    void differentAad_failsWithBadTag() {
        byte[] envelope = sealed();
        byte[] otherAad = ascii("brokerctl/v1/value|env=prod|name=API_TOKEN");

        assertThrows(AEADBadTagException.class, () -> AesGcm.open(KEY, envelope, otherAad));
        assertThrows(AEADBadTagException.class, () -> AesGcm.open(KEY, envelope, new byte[0]));
        assertThrows(AEADBadTagException.class, () -> AesGcm.open(KEY, envelope, null));
    }

    @Test
    void differentKey_failsWithBadTag() {
        byte[] envelope = sealed();

        assertThrows(AEADBadTagException.class, () -> AesGcm.open(OTHER_KEY, envelope, AAD));
    }

    @Test
    void twoSealsOfTheSamePlaintext_differ() throws Exception {
        SecureRandom random = new SecureRandom();
        byte[] first = AesGcm.seal(KEY, PLAINTEXT, AAD, random);
        byte[] second = AesGcm.seal(KEY, PLAINTEXT, AAD, random);

        assertFalse(Arrays.equals(first, second), "envelopes must differ");
        assertFalse(Arrays.equals(Arrays.copyOfRange(first, 1, 1 + AesGcm.NONCE_BYTES),
                Arrays.copyOfRange(second, 1, 1 + AesGcm.NONCE_BYTES)), "nonces must be fresh");
        assertArrayEquals(PLAINTEXT, AesGcm.open(KEY, first, AAD));
        assertArrayEquals(PLAINTEXT, AesGcm.open(KEY, second, AAD));
    }

    /** Every shorter prefix, down to the empty array, including ones shorter than a header. */
    @Test
    void truncatedEnvelope_failsWithBadTag() {
        byte[] envelope = sealed();

        for (int length = 0; length < envelope.length; length++) {
            byte[] truncated = Arrays.copyOf(envelope, length);
            assertThrows(AEADBadTagException.class, () -> AesGcm.open(KEY, truncated, AAD),
                    "truncated to " + length + " bytes");
        }
    }

    @Test
    void extendedEnvelope_failsWithBadTag() {
        byte[] envelope = sealed();
        byte[] extended = Arrays.copyOf(envelope, envelope.length + 1);

        assertThrows(AEADBadTagException.class, () -> AesGcm.open(KEY, extended, AAD));
    }
}

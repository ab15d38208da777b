package dev.brokerctl.vault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Known-answer test for {@link Argon2id}: the Argon2id vector of RFC 9106 section 5.3
 * (version 0x13), which exercises the secret {@code K} and associated data {@code X} as well.
 */
class Argon2idRfc9106VectorTest {

    /** RFC 9106, section 5.3, "Tag". */
    private static final String RFC9106_ARGON2ID_TAG =
            "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659";

    private static byte[] filled(int length, int value) {
        byte[] out = new byte[length];
        Arrays.fill(out, (byte) value);
        return out;
    }

    @Test
    void rfc9106Section53Vector_producesTheRfcTag() {
        byte[] password = filled(32, 0x01);
        byte[] salt = filled(16, 0x02);
        byte[] secret = filled(8, 0x03);
        byte[] associated = filled(12, 0x04);
        KdfParams params = new KdfParams(32, 3, 4);

        byte[] tag = Argon2id.derive(password, salt, secret, associated, params, 32);

        assertArrayEquals(HexFormat.of().parseHex(RFC9106_ARGON2ID_TAG), tag);
    }

    static Stream<Arguments> paramsAboveCaps() {
        return Stream.of(
                Arguments.of("memory", new KdfParams(KdfParams.MAX_MEMORY_KIB + 1, 1, 1)),
                Arguments.of("memory", new KdfParams(Integer.MAX_VALUE, 1, 1)),
                Arguments.of("iterations", new KdfParams(64, KdfParams.MAX_ITERATIONS + 1, 1)),
                Arguments.of("iterations", new KdfParams(64, Integer.MAX_VALUE, 1)),
                Arguments.of("parallelism",
                        new KdfParams(8 * (KdfParams.MAX_PARALLELISM + 1),
                                1, KdfParams.MAX_PARALLELISM + 1)));
    }

    /**
     * The caps run before any KDF work: a tampered keyslot asking for more than a gibibyte or
     * billions of passes is refused at once instead of allocating or spinning. The timeout is
     * preemptive so a regression fails here rather than hanging the build.
     */
    @ParameterizedTest(name = "{0} above cap: {1}")
    @MethodSource("paramsAboveCaps")
    void paramsAboveCaps_areRefusedBeforeAnyWork(String parameter, KdfParams params) {
        IllegalArgumentException e = assertTimeoutPreemptively(Duration.ofSeconds(2),
                () -> assertThrows(IllegalArgumentException.class,
                        () -> Argon2id.derive(filled(8, 0x01), filled(16, 0x02), params, 32)));
        assertTrue(e.getMessage().contains(parameter),
                () -> "message should name the parameter '" + parameter + "': " + e.getMessage());
    }
}

package dev.brokerctl.vault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wycheproof known-answer tests for {@link AesGcm}: every vector of the AES-GCM group the vault
 * uses (256-bit key, 96-bit nonce, 128-bit tag) from C2SP/wycheproof
 * {@code testvectors_v1/aes_gcm_test.json}, converted to the line format described in the header
 * of {@value #VECTORS} (source, commit and Apache-2.0 license are named there).
 */
class WycheproofAesGcmTest {

    static final String VECTORS = "wycheproof_aes_gcm_256_96_128.txt";

    /** Counts of the group in the source file; guards against a truncated resource. */
    private static final int EXPECTED_VECTORS = 66;
    private static final int EXPECTED_INVALID = 27;

    /** One Wycheproof {@code AeadTest}; the name is what the test report shows. */
    record Vector(int tcId, byte[] key, byte[] iv, byte[] aad, byte[] msg, byte[] ct,
            byte[] tag, String result, String comment) {

        byte[] ctAndTag() {
            byte[] out = new byte[ct.length + tag.length];
            System.arraycopy(ct, 0, out, 0, ct.length);
            System.arraycopy(tag, 0, out, ct.length, tag.length);
            return out;
        }

        @Override
        public String toString() {
            return "tcId " + tcId + " (" + result + ", " + comment + ")";
        }
    }

    static List<Vector> load() {
        List<Vector> out = new ArrayList<>();
        HexFormat hex = HexFormat.of();
        try (InputStream in = WycheproofAesGcmTest.class.getResourceAsStream(VECTORS)) {
            assertNotNull(in, "test resource missing: " + VECTORS);
            BufferedReader reader =
                    new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            String line;
            int lineNo = 0;
            while ((line = reader.readLine()) != null) {
                lineNo++;
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\\|", -1);
                if (f.length != 9) {
                    throw new IllegalStateException(VECTORS + ":" + lineNo + ": expected 9 fields,"
                            + " found " + f.length);
                }
                out.add(new Vector(Integer.parseInt(f[0]), hex.parseHex(f[1]), hex.parseHex(f[2]),
                        hex.parseHex(f[3]), hex.parseHex(f[4]), hex.parseHex(f[5]),
                        hex.parseHex(f[6]), f[7], f[8]));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    static Stream<Vector> vectors() {
        return load().stream();
    }

    @Test
    void vectorFile_holdsEveryVectorOfTheGroup() {
        List<Vector> all = load();
        long invalid = all.stream().filter(v -> v.result().equals("invalid")).count();

        assertEquals(EXPECTED_VECTORS, all.size());
        assertEquals(EXPECTED_INVALID, invalid);
        for (Vector v : all) {
            assertEquals(AesGcm.KEY_BYTES, v.key().length, v::toString);
            assertEquals(AesGcm.NONCE_BYTES, v.iv().length, v::toString);
            assertEquals(AesGcm.TAG_BITS / 8, v.tag().length, v::toString);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vectors")
    void wycheproofVector(Vector v) throws Exception {
        switch (v.result()) {
            case "valid", "acceptable" -> {
                assertArrayEquals(v.ctAndTag(), AesGcm.encrypt(v.key(), v.iv(), v.msg(), v.aad()),
                        "encrypt must give ct || tag");
                assertArrayEquals(v.msg(), AesGcm.decrypt(v.key(), v.iv(), v.ctAndTag(), v.aad()),
                        "decrypt must give msg");
            }
            case "invalid" -> assertThrows(AEADBadTagException.class,
                    () -> AesGcm.decrypt(v.key(), v.iv(), v.ctAndTag(), v.aad()));
            default -> fail("unknown Wycheproof result '" + v.result() + "' in " + v);
        }
    }
}

package dev.brokerctl.daemon.mask;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Fuzz tests of the masker (Jazzer). In a normal build each runs on its committed seeds
 * ({@code src/test/resources/.../MaskerFuzzTestInputs/<method>/}) as a regression test; with
 * {@code JAZZER_FUZZ=1} Jazzer fuzzes it (docs/testing.md). Failures print seeds and sizes,
 * never the masked text, which may hold a value.
 */
class MaskerFuzzTest {

    /**
     * Any values, any output, any chunking: the stream gives the same bytes as the batch, and
     * the batch the same as the brute-force oracle; with the gate forced on or left to choose.
     */
    @FuzzTest(maxDuration = "10m")
    void streamedEqualsBatchEqualsOracle(FuzzedDataProvider data) throws IOException {
        int gateFrom = data.consumeBoolean() ? 8 : Integer.MAX_VALUE;
        int count = data.consumeInt(1, 3);
        Map<String, byte[]> secrets = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            secrets.put("S" + i, data.consumeBytes(data.consumeInt(1, 48)));
        }
        long chunking = data.consumeLong();
        byte[] text = data.consumeBytes(3000);
        Masker m = Masker.compile(secrets, gateFrom);
        byte[] batch = m.maskAll(text);
        NaiveMasker.assertSameBytes(new NaiveMasker(secrets).mask(text), batch, "batch vs oracle");
        NaiveMasker.assertSameBytes(batch, MaskerPropertyTest.streamed(m, text, new Random(chunking)),
                "streamed vs batch");
    }

    /** Bytes that no pattern of the value can hold: they surround the form. */
    private static final byte[] FILLER = " \n\t#!,;?@^`|~".getBytes(StandardCharsets.US_ASCII);

    /**
     * A value printed in one of the forms tools print (MaskerPropertyTest's generators: base64
     * wrapped at any width, hex grouped like xxd and od, percent-encoding, JSON/JS/Go escapes,
     * shell quoting, printf %q), between fuzzed filler: only the replacement is left of it.
     */
    @FuzzTest(maxDuration = "10m")
    void noRegisteredFormSurvives(FuzzedDataProvider data) throws IOException {
        byte[] v = data.consumeBytes(data.consumeInt(8, 80));
        int kind = data.consumeInt(0, MaskerPropertyTest.KINDS - 1);
        long formSeed = data.consumeLong();
        boolean gate = data.consumeBoolean();
        byte[] form = MaskerPropertyTest.randomForm(new Random(formSeed), v, kind);
        String latin = new String(v, StandardCharsets.ISO_8859_1);
        if (form == null || MaskerPropertyTest.visible(v) < 8 || latin.contains("<")
                || latin.contains(">") || kind == 3 && MaskerPropertyTest.readsAsPercentEscape(v)
                || MaskerPropertyTest.leftOutRun(v) > EscapeView.MAX_GAP
                || MaskerPropertyTest.readsShort(form, kind)) {
            return; // no such form, or a documented limit (see MaskerPropertyTest)
        }
        byte[] plain = EscapeView.decodeWhole(v);
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        for (byte b : data.consumeBytes(40)) {
            text.write(filler(b, v, plain));
        }
        text.writeBytes("\n<<".getBytes(StandardCharsets.US_ASCII));
        text.writeBytes(form);
        text.writeBytes(">>\n".getBytes(StandardCharsets.US_ASCII));
        for (byte b : data.consumeRemainingAsBytes()) {
            text.write(filler(b, v, plain));
        }
        Masker m = Masker.compile(Map.of("V", v), gate ? 8 : Integer.MAX_VALUE);
        byte[] input = text.toByteArray();
        byte[] batch = m.maskAll(input);
        MaskerPropertyTest.assertOnlyReplacementBetweenMarkers(batch, "kind=" + kind);
        NaiveMasker.assertSameBytes(batch, MaskerPropertyTest.streamed(m, input, new Random(formSeed)),
                "streamed vs batch");
        byte[] rest = new String(batch, StandardCharsets.ISO_8859_1).replace("[MASKED:V]", "")
                .getBytes(StandardCharsets.ISO_8859_1);
        assertEquals(-1, indexOf(rest, v), "the raw value is left in the output");
    }

    /** A filler byte chosen by {@code b} that is in neither the value nor its decoded view. */
    private static int filler(byte b, byte[] v, byte[] plain) {
        for (int k = 0; k < FILLER.length; k++) {
            byte f = FILLER[Math.floorMod(b + k, FILLER.length)];
            if (indexOf(v, new byte[] {f}) < 0 && indexOf(plain, new byte[] {f}) < 0) {
                return f;
            }
        }
        return '\n';
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}

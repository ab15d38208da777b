package dev.brokerctl.vault.dotenv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuzz tests of the dotenv parser that {@code brokerctl import} and {@code brokerctl run
 * --env-file} read with, and of the {@code broker://} references of a template (Jazzer; seeds in
 * {@code DotenvFuzzTestInputs/}, {@code JAZZER_FUZZ=1} fuzzes, docs/testing.md).
 */
class DotenvFuzzTest {

    /** Holds characters no variable or environment name can, so an error that names one never matches it. */
    private static final String CANARY = "Q7-canary:";

    /**
     * Fuzzed lines whose values hold a canary, in both syntaxes: an entry list (valid names, no
     * canary in a note) or a {@link DotenvException} without the canary; references the same.
     */
    @FuzzTest(maxDuration = "5m")
    void parsesOrRefusesWithoutQuotingValues(FuzzedDataProvider data) {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        int lines = data.consumeInt(0, 12);
        for (int i = 0; i < lines; i++) {
            String raw = data.consumeString(40);
            // a value part with the canary somewhere in it, in any quoting the fuzzer picks
            file.writeBytes(raw.replace("@", CANARY).getBytes(StandardCharsets.UTF_8));
            file.write(data.consumeBoolean() ? '\n' : '\r');
        }
        file.writeBytes(data.consumeRemainingAsBytes());
        byte[] input = file.toByteArray();
        for (DotenvParser.Syntax syntax : DotenvParser.Syntax.values()) {
            DotenvParser.Result r;
            try {
                r = DotenvParser.parse(input, syntax);
            } catch (DotenvException e) {
                assertFalse(e.getMessage().contains(CANARY), "a value in a parse error");
                continue;
            }
            for (DotenvParser.Note n : r.notes()) {
                assertFalse(n.text().contains(CANARY) || n.name().contains(CANARY), "a value in a note");
            }
            assertFalse(r.toString().contains(CANARY), "a value in toString");
            for (DotenvEntry e : r.entries()) {
                assertTrue(e.name().matches("[A-Za-z_][A-Za-z0-9_]{0,127}"), "a valid name");
                assertFalse(e.toString().contains(CANARY), "a value in toString");
                try {
                    BrokerReference ref = BrokerReference.of(e);
                    if (ref != null) {
                        assertTrue(BrokerReference.isEnvironment(ref.environment()), "a valid environment");
                        assertEquals(e.name(), ref.name());
                    }
                } catch (DotenvException ex) {
                    assertFalse(ex.getMessage().contains(CANARY), "a value in a reference error");
                }
            }
        }
    }

    /**
     * Any names and values written the way the syntax documents reads back exactly: double quotes
     * with escapes (shell syntax), single quotes for values without {@code '} (both syntaxes).
     */
    @FuzzTest(maxDuration = "5m")
    void writtenEntriesReadBack(FuzzedDataProvider data) throws DotenvException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        int n = data.consumeInt(1, 6);
        for (int i = 0; i < n; i++) {
            entries.put("V" + i + "_" + data.consumeAsciiString(6).replaceAll("[^A-Za-z0-9_]", ""),
                    data.consumeBytes(data.consumeInt(0, 60)));
        }
        boolean singleQuotes = data.consumeBoolean();
        DotenvParser.Syntax syntax = singleQuotes && data.consumeBoolean()
                ? DotenvParser.Syntax.DOTENV : DotenvParser.Syntax.SHELL;
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        List<String> written = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            byte[] v = e.getValue();
            if (singleQuotes && !singleQuotable(v)) {
                continue;
            }
            written.add(e.getKey());
            file.writeBytes((data.consumeBoolean() ? "export " : "").getBytes(StandardCharsets.US_ASCII));
            file.writeBytes((e.getKey() + "=").getBytes(StandardCharsets.US_ASCII));
            file.write(singleQuotes ? '\'' : '"');
            for (byte b : v) {
                if (singleQuotes) {
                    file.write(b);
                } else {
                    switch (b) {
                        case '\n' -> file.writeBytes(new byte[] {'\\', 'n'});
                        case '\r' -> file.writeBytes(new byte[] {'\\', 'r'});
                        case '\t' -> file.writeBytes(new byte[] {'\\', 't'});
                        case '\\', '"', '$' -> file.writeBytes(new byte[] {'\\', b});
                        default -> file.write(b);
                    }
                }
            }
            file.write(singleQuotes ? '\'' : '"');
            file.writeBytes((data.consumeBoolean() ? " # c\n" : "\n").getBytes(StandardCharsets.US_ASCII));
        }
        DotenvParser.Result r = DotenvParser.parse(file.toByteArray(), syntax);
        assertEquals(written, r.entries().stream().map(DotenvEntry::name).toList(), "names in file order");
        for (DotenvEntry e : r.entries()) {
            assertArrayEquals(entries.get(e.name()), e.valueBytes(), "value of " + e.name() + " (" + syntax + ")");
        }
    }

    /** Literal between single quotes in both syntaxes: no {@code '}, no CR (it reads as a line break), no final {@code \}. */
    private static boolean singleQuotable(byte[] v) {
        for (byte b : v) {
            if (b == '\'' || b == '\r') {
                return false;
            }
        }
        return v.length == 0 || v[v.length - 1] != '\\';
    }
}

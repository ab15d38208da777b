package dev.brokerctl.vault.dotenv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link DotenvParser.Syntax#DOTENV} against the real npm {@code dotenv} 17: every form in
 * {@code src/test/dotenv-reference/forms.txt} parses to the bytes dotenv 17.4.2 gave for it. The
 * expected values are a committed fixture, made once with that package ({@code cd
 * src/test/dotenv-reference && npm ci && node generate.js > ../resources/dev/brokerctl/vault/dotenv/dotenv17-expected.txt});
 * the build does not run Node for it. And every form the two syntaxes read differently carries a
 * {@link DotenvParser.Note} in both (never the value), while a form they agree on carries none.
 */
class DotenvCompatibilityTest {

    record Form(byte[] input, Map<String, byte[]> expected) {
    }

    static List<Form> forms() throws IOException {
        List<Form> forms = new ArrayList<>();
        try (InputStream in = DotenvCompatibilityTest.class.getResourceAsStream("dotenv17-expected.txt")) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(text.startsWith("# npm dotenv 17."), "made with dotenv 17");
            for (String line : text.split("\n")) {
                if (line.startsWith("#") || line.isEmpty()) {
                    continue;
                }
                String[] parts = line.split("\t", -1);
                Map<String, byte[]> expected = new LinkedHashMap<>();
                for (String pair : parts[1].split(",")) {
                    if (!pair.isEmpty()) {
                        int eq = pair.indexOf('=');
                        expected.put(pair.substring(0, eq), Base64.getDecoder().decode(pair.substring(eq + 1)));
                    }
                }
                forms.add(new Form(Base64.getDecoder().decode(parts[0]), expected));
            }
        }
        return forms;
    }

    private static Map<String, String> hex(DotenvParser.Result r) {
        Map<String, String> out = new LinkedHashMap<>();
        for (DotenvEntry e : r.entries()) {
            out.put(e.name(), HexFormat.of().formatHex(e.valueBytes()));
        }
        return out;
    }

    @Test
    void everyForm_parsesToTheBytesNpmDotenv17Gives() throws Exception {
        List<Form> forms = forms();
        assertTrue(forms.size() >= 35, "forms: " + forms.size());
        List<String> wrong = new ArrayList<>();
        for (Form f : forms) {
            Map<String, String> expected = new LinkedHashMap<>();
            f.expected().forEach((k, v) -> expected.put(k, HexFormat.of().formatHex(v)));
            Map<String, String> got = hex(DotenvParser.parse(f.input(), DotenvParser.Syntax.DOTENV));
            if (!got.equals(expected)) {
                wrong.add(new String(f.input(), StandardCharsets.UTF_8).strip() + ": dotenv " + expected + ", brokerctl " + got);
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void everyFormTheSyntaxesReadDifferently_hasANoteInBoth_andNoOtherDoes() throws Exception {
        int differ = 0;
        List<String> problems = new ArrayList<>();
        for (Form f : forms()) {
            String form = new String(f.input(), StandardCharsets.UTF_8).strip();
            DotenvParser.Result dotenv = DotenvParser.parse(f.input(), DotenvParser.Syntax.DOTENV);
            Map<String, String> shell;
            List<DotenvParser.Note> shellNotes;
            try {
                DotenvParser.Result r = DotenvParser.parse(f.input(), DotenvParser.Syntax.SHELL);
                shell = hex(r);
                shellNotes = r.notes();
            } catch (DotenvException e) {
                shell = null;   // shell refuses the form (an error naming its line): differs too
                shellNotes = null;
            }
            boolean same = hex(dotenv).equals(shell);
            if (!same) {
                differ++;
            }
            if (same != dotenv.notes().isEmpty()) {
                problems.add(form + ": dotenv notes " + dotenv.notes() + " though the syntaxes " + (same ? "agree" : "differ"));
            }
            if (shellNotes != null && same != shellNotes.isEmpty()) {
                problems.add(form + ": shell notes " + shellNotes + " though the syntaxes " + (same ? "agree" : "differ"));
            }
            for (DotenvParser.Note n : dotenv.notes()) {
                for (byte[] v : f.expected().values()) {
                    if (v.length >= 4) {
                        assertFalse(n.toString().contains(new String(v, StandardCharsets.UTF_8)), "a value in " + n);
                    }
                }
            }
        }
        assertEquals(List.of(), problems);
        assertTrue(differ >= 8, "the forms where loaders differ are covered: " + differ);
    }

    @Test
    void theFormsTheIssueNamed_readAsDotenvDoes() throws Exception {
        assertEquals("backtick quoted", only("A=`backtick quoted`"));
        assertEquals("say \\\"hi\\\"", only("A=\"say \\\"hi\\\"\""));
        assertEquals("tab\\there", only("A=\"tab\\there\""));
        assertEquals("pass", only("A=pass#word"));
        DotenvParser.Result r = DotenvParser.parse("X=1\nA=pass#word\n".getBytes(StandardCharsets.UTF_8),
                DotenvParser.Syntax.DOTENV);
        assertEquals(List.of(new DotenvParser.Note(2, "A", 4, "a # without a blank before it ends the value here"
                + " (npm dotenv); --syntax shell keeps it as part of the value")), r.notes());
    }

    private static String only(String line) throws DotenvException {
        DotenvParser.Result r = DotenvParser.parse((line + "\n").getBytes(StandardCharsets.UTF_8), DotenvParser.Syntax.DOTENV);
        return new String(r.entries().get(0).valueBytes(), StandardCharsets.UTF_8);
    }
}

package dev.brokerctl.daemon.mask;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The forms real tools print, from the tools themselves where installed (skipped where not):
 * the value goes to the tool on stdin, the tool's stdout through the masker. What is left must
 * be the replacement and what the tool puts around the value (whitespace, quotes, {@code $}).
 */
class MaskerRealToolsTest {

    /** 100 bytes: over the 57 that fit one 76-column base64 line and the 30 of an xxd line. */
    private static final String LONG = "Zq7-canary/Tk9w2 p@ss&word=x+y:ä;ü~'quote'\"dq\"\\bs"
            + "-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOP";
    /** Exactly 8 bytes, the shortest that gets encoded forms. */
    private static final String EIGHT = "k8/Q&z ä";
    /**
     * Characters outside the BMP (json.dumps writes surrogate pairs), the ones Go escapes in JSON
     * ({@code <>&} as {@code \u003c}...) and reserved ones percent-encoding may leave raw.
     */
    private static final String ASTRAL = "\uD83D\uDD11key<&>ä/€:@!$'()*+,;=?#\uD83D\uDE00-end";

    private static final String PY_QUOTE = "import sys,urllib.parse; "
            + "sys.stdout.write(urllib.parse.quote(sys.stdin.buffer.read().decode()))";
    private static final String PY_QUOTE_PLUS = "import sys,urllib.parse; "
            + "sys.stdout.write(urllib.parse.quote_plus(sys.stdin.buffer.read().decode()))";
    private static final String PY_JSON = "import sys,json; "
            + "print(json.dumps({'k': sys.stdin.buffer.read().decode()}))";
    private static final String PY_QUOTE_RESERVED = "import sys,urllib.parse; "
            + "sys.stdout.write(urllib.parse.quote(sys.stdin.buffer.read().decode(), "
            + "safe=\"/:@!$&'()*+,;=\"))";
    private static final String GO_JSON = "package main\n"
            + "import (\"encoding/json\"; \"io\"; \"os\")\n"
            + "func main() { b, _ := io.ReadAll(os.Stdin); j, _ := json.Marshal(string(b)); "
            + "os.Stdout.Write(j) }\n";
    private static final String PY_SHLEX = "import sys,shlex; "
            + "print(shlex.quote(sys.stdin.buffer.read().decode()))";

    @Test
    void coreutilsBase64_wrappedAt76_isMasked() throws Exception {
        assertMasked(List.of("base64"));
    }

    @Test
    void base64WrappedAt64_likePem_isMasked() throws Exception {
        assertMasked(List.of("base64", "-w", "64"));
    }

    @Test
    void opensslBase64_isMasked() throws Exception {
        assertMasked(List.of("openssl", "base64"));
    }

    @Test
    void xxdPlain_sixtyHexDigitsALine_isMasked() throws Exception {
        assertMasked(List.of("xxd", "-p"));
    }

    @Test
    void odHexBytes_spacedAndWrapped_isMasked() throws Exception {
        assertMasked(List.of("od", "-An", "-tx1"));
    }

    @Test
    void pythonUrllibQuote_slashLeftRaw_isMasked() throws Exception {
        assertMasked(List.of("python3", "-c", PY_QUOTE));
    }

    @Test
    void pythonUrllibQuotePlus_plusForSpace_isMasked() throws Exception {
        assertMasked(List.of("python3", "-c", PY_QUOTE_PLUS));
    }

    @Test
    void pythonJsonDumps_asciiEscapes_isMasked() throws Exception {
        assertMasked(List.of("python3", "-c", PY_JSON));
    }

    @Test
    void pythonUrllibQuote_reservedCharactersLeftRaw_isMasked() throws Exception {
        assertMasked(List.of("python3", "-c", PY_QUOTE_RESERVED));
    }

    /** Go's encoding/json writes {@code <>&} as {@code \u003c \u003e \u0026}. */
    @Test
    void goJsonMarshal_htmlSafeEscapes_isMasked(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("go"), "go is not installed");
        Path main = dir.resolve("main.go");
        Files.writeString(main, GO_JSON);
        assertMasked(List.of("go", "run", main.toString()));
    }

    /** Bash's own quoting of a single quote inside single quotes: 'a'\''b'. */
    @Test
    void bashSingleQuoteEscaping_isMasked() throws Exception {
        assertMasked(List.of("bash", "-c", "V=$(cat); q=\"'\\''\"; printf \"'%s'\\n\" \"${V//\\'/$q}\""));
    }

    @Test
    void pythonShlexQuote_isMasked() throws Exception {
        assertMasked(List.of("python3", "-c", PY_SHLEX));
    }

    @Test
    void bashPrintfQ_isMasked() throws Exception {
        assertMasked(List.of("bash", "-c", "V=$(cat); printf '%q\\n' \"$V\""));
    }

    /** Runs {@code argv} on each value and checks that only the replacement is left. */
    private static void assertMasked(List<String> argv) throws Exception {
        assumeTrue(onPath(argv.get(0)), argv.get(0) + " is not installed");
        for (String value : List.of(LONG, EIGHT, ASTRAL)) {
            byte[] v = value.getBytes(StandardCharsets.UTF_8);
            byte[] printed = run(argv, v);
            assertTrue(printed.length > 0, argv + " printed nothing");
            Masker m = Masker.compile(Map.of("V", v));
            String masked = new String(m.maskAll(printed), StandardCharsets.UTF_8);
            // Not printed on failure: it may hold the value.
            String rest = masked.replaceAll("[\\s\"'$]|\\{\"k\": ", "").replace("}", "");
            assertEquals("[MASKED:V]", rest.length() < 200 ? rest : "(long)",
                    argv + " on a " + v.length + "-byte value left more than the replacement");
        }
    }

    private static byte[] run(List<String> argv, byte[] stdin) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(argv));
        pb.environment().put("LC_ALL", "C.UTF-8");
        pb.environment().put("PYTHONIOENCODING", "utf-8");
        pb.environment().put("GOCACHE", System.getProperty("java.io.tmpdir") + "/brokerctl-gocache");
        pb.environment().put("GOFLAGS", "-mod=mod");
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin);
        }
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), argv + " did not finish");
        assertEquals(0, p.exitValue(), argv + " failed");
        return out;
    }

    private static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (new File(dir, tool).canExecute()) {
                return true;
            }
        }
        return false;
    }
}

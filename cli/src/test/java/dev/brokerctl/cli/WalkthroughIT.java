package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README's "Five minutes with brokerctl", run as one bash script made from the README itself
 * (every {@code sh} block of the section, in order), so the two cannot drift. A block right after
 * a {@code <!-- walkthrough: not in WalkthroughIT (why) -->} line is left out: it needs a second
 * terminal (the approval) or a coding agent. The script runs in the checkout, as a person pasting
 * it would, with a temporary HOME, brokerctl home and TMPDIR; the passphrases come from files,
 * the way scripts give them.
 */
class WalkthroughIT {

    static final String SKIP = "<!-- walkthrough: not in WalkthroughIT";

    @TempDir
    Path tmp;

    private static final Path SOURCE = Path.of(System.getProperty("brokerctl.launcher", "../bin/brokerctl"))
            .toAbsolutePath().normalize().getParent().getParent();

    /** The section's sh blocks, less the skipped ones, in order. */
    static List<String> blocks(String readme) {
        int start = readme.indexOf("\n## Five minutes with brokerctl\n");
        if (start < 0) {
            throw new AssertionError("README has no section '## Five minutes with brokerctl'");
        }
        int end = readme.indexOf("\n## ", start + 1);
        String[] lines = readme.substring(start, end < 0 ? readme.length() : end).split("\n", -1);
        List<String> blocks = new ArrayList<>();
        String previous = "";
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].equals("```sh")) {
                StringBuilder block = new StringBuilder();
                int j = i + 1;
                while (!lines[j].equals("```")) {
                    block.append(lines[j]).append('\n');
                    j++;
                }
                if (!previous.startsWith(SKIP)) {
                    blocks.add(block.toString());
                }
                i = j;
                previous = "";
            } else if (!lines[i].isBlank()) {
                previous = lines[i];
            }
        }
        return blocks;
    }

    @Test
    void theReadmesWalkthrough_runsAsAScript_andShowsOnlyMaskedValues() throws Exception {
        String readme = Files.readString(SOURCE.resolve("README.md"));
        List<String> blocks = blocks(readme);
        assertTrue(blocks.size() >= 5, "the walkthrough's blocks: " + blocks);
        Path script = tmp.resolve("walkthrough.sh");
        Files.writeString(script, "set -eu\n" + String.join("\n", blocks));

        Path home = Files.createDirectories(tmp.resolve("user"));
        Path passphrase = Files.writeString(tmp.resolve("passphrase"), "walkthrough passphrase 1\n");
        Path newPassphrase = Files.writeString(tmp.resolve("new-passphrase"), "walkthrough passphrase 2\n");
        Map<String, String> env = Map.of(
                "PATH", System.getenv("PATH"),
                "JAVA_HOME", System.getProperty("java.home"),
                "HOME", home.toString(),
                "TMPDIR", Files.createDirectories(tmp.resolve("tmpdir")).toString(),
                "BROKERCTL_HOME", tmp.resolve("brokerctl-home").toString(),
                "BROKERCTL_PASSPHRASE_FILE", passphrase.toString(),
                "BROKERCTL_NEW_PASSPHRASE_FILE", newPassphrase.toString());
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString()).directory(SOURCE.toFile())
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().clear();
        pb.environment().putAll(env);
        Path outFile = tmp.resolve("out.txt");
        pb.redirectOutput(outFile.toFile());
        Process p = pb.start();
        boolean ended = p.waitFor(5, TimeUnit.MINUTES);
        String out = Files.readString(outFile, StandardCharsets.UTF_8);
        try {
            assertTrue(ended, "the walkthrough did not end in 5 minutes:\n" + out);
            assertEquals(0, p.exitValue(), "the walkthrough failed:\n" + out);
            for (String expected : List.of("imported 2 variables into dev: DATABASE_URL, GITHUB_TOKEN", "shredded .env",
                    "set API_KEY in dev (21 bytes)", "connecting to [MASKED:DATABASE_URL]", "API_KEY has 21 bytes",
                    "test: [MASKED:DATABASE_URL]", "\"name\":\"API_KEY\"", "passphrase changed", "stopped")) {
                assertTrue(out.contains(expected), "'" + expected + "' in:\n" + out);
            }
            for (String value : List.of("dev-password-123", "ghp_example0123456789abcdef", "sk-example-0123456789")) {
                assertFalse(out.contains(value), "a value reached the output:\n" + out);
            }
        } finally {
            if (!ended) {
                p.destroyForcibly();
            }
            // a walkthrough that failed half-way may have left its daemon
            ProcessBuilder stop = new ProcessBuilder(SOURCE.resolve("bin/brokerctl").toString(), "stop")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            stop.environment().clear();
            stop.environment().putAll(env);
            stop.start().waitFor(60, TimeUnit.SECONDS);
        }
    }
}

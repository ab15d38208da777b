package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.brokerctl.protocol.Message;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * A connection flood against a daemon's socket: {@code flood.py} (a test resource) run as
 * {@code user}, {@code count} connections of one {@code mode} (idle, slow, held, requester).
 * Closing its stdin stops it, and it prints its tally.
 */
record Flood(Process process, BufferedReader out) {

    /** Starts a flood and waits until it says it is ready; skips the test without python3. */
    static Flood start(Unprivileged user, Path dir, Path socket, String mode, int count) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")),
                "the flood client is a python3 script; .ci/run installs python3");
        Path script = dir.resolve("flood.py");
        if (!Files.exists(script)) {
            try (InputStream in = Flood.class.getResourceAsStream("flood.py")) {
                Files.copy(in, script);
            }
            user.own(script);
        }
        Process p = new ProcessBuilder(user.command("/usr/bin/python3", script.toString(), socket.toString(),
                mode, Integer.toString(count))).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Flood f = new Flood(p, new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
        try {
            assertEquals("ready", f.out.readLine(), "the " + mode + " flood did not start");
        } catch (Exception | AssertionError e) {
            p.destroyForcibly().waitFor();
            throw e;
        }
        return f;
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> stop() throws Exception {
        process.getOutputStream().close();
        String line = out.readLine();
        assertEquals(0, process.waitFor());
        return (Map<String, Object>) Message.parse(line.getBytes(StandardCharsets.UTF_8)).asMap();
    }
}

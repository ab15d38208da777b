package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The leak-canary scenario: one home taken through every path a value travels — {@code set},
 * {@code import --shred}, error messages, a run approved in the console, an MCP run, the audit,
 * the log, and a daemon killed with SIGKILL mid-run — with canaries (one multi-line, one of
 * exactly 8 bytes). Then everything a same-user process or a later reader could see is scanned
 * for each canary raw and in its common encodings: every byte brokerctl printed (CLI, console
 * screen, MCP transcript), every file under the test's directory (home, vault files, log, temp
 * files) and those the run left in the system temp directory, every process's argv while a run
 * holds the values, and the MCP server's environment.
 */
class LeakCanaryIT {

    static final String LONG = "lc-canary-tok-5e1f0a9c3b77";
    static final String EIGHT = "Zq8kP2wX";
    static final String MULTI = "-----BEGIN LC KEY-----\nlc-line-two-8d2c61\nlc-line-three-0f9a\n-----END LC KEY-----";
    static final String IMPORTED = "lc-imported-4a6e2d91";

    @TempDir
    Path dir;

    @Test
    void noCanaryInAnyOutputFileArgvOrEnvironment_raworEncoded() throws Exception {
        Instant start = Instant.now().minusSeconds(1);
        Brokerctl b = new Brokerctl(dir).init();
        StringBuilder seen = new StringBuilder();   // everything printed that is not in b.transcript
        ok(b.run("env", "create", "prod"));
        ok(b.run("env", "create", "dev", "--policy", "auto"));
        ok(b.runWithInput(LONG.getBytes(StandardCharsets.UTF_8), "set", "prod", "TOKEN"));
        ok(b.runWithInput(EIGHT.getBytes(StandardCharsets.UTF_8), "set", "dev", "EIGHT"));
        ok(b.runWithInput(MULTI.getBytes(StandardCharsets.UTF_8), "set", "dev", "MULTI"));
        Path env = Files.writeString(dir.resolve("import.env"), "IMPORTED=" + IMPORTED + "\nOTHER=x\n");
        ok(b.run("import", "dev", env.toString(), "--shred"));
        assertFalse(Files.exists(env) && Files.readString(env).contains(IMPORTED), "import --shred left the value");

        // error paths that have a value at hand
        assertNotEquals(0, b.runWithInput(LONG.getBytes(StandardCharsets.UTF_8), "set", "dev", "bad-name").exit());
        assertNotEquals(0, b.run("set", "dev", "ON_ARGV", LONG).exit());   // a value on the command line is refused
        Path bad = Files.writeString(dir.resolve("bad.env"), "GOOD=1\n" + LONG + "\n");
        assertNotEquals(0, b.run("import", "dev", bad.toString()).exit());
        Files.delete(bad);

        ok(b.run("daemon", "--detach"));
        long daemon = b.daemonPid();
        assertNotEquals(0, b.run("run", "--env", "dev", "--only", "EIGHT", "--", "/nonexistent/lc-cmd").exit());

        // a run approved by the human in the console; the command prints the value in many forms
        Tmux console = new Tmux(dir.resolve("tmux.sock"));
        console.start(b, "approve");
        try {
            console.awaitScreen("watching for requests", Tmux.WAIT);
            Spawned approved = b.start("run", "--env", "prod", "--", "sh", "-c",
                    "printf '%s\\n' \"$TOKEN\"; printf %s \"$TOKEN\" | base64; printf %s \"$TOKEN\" | od -An -tx1;"
                            + " printf '%s' \"$TOKEN\" >&2");
            console.awaitScreen("command: sh -c", Tmux.WAIT);
            String code = console.lastCode();
            console.answer("a");
            console.type(code);
            Brokerctl.Result r = approved.await(Tmux.WAIT);
            assertEquals(0, r.exit(), safe(r));
            assertTrue(r.out().contains("[MASKED:TOKEN]"), safe(r));
            seen.append(console.screen());
        } finally {
            console.kill();
        }

        // an MCP run: the agent's whole transcript, and the MCP server's own environment and argv
        Process mcp = mcpServer(b);
        try {
            Mcp session = new Mcp(mcp, seen);
            session.call("initialize", "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                    + "\"clientInfo\":{\"name\":\"leak-canary\",\"version\":\"1\"}}");
            session.notify("notifications/initialized");
            String result = session.call("tools/call", "{\"name\":\"run_command\",\"arguments\":{\"environment\":\"dev\","
                    + "\"command\":[\"sh\",\"-c\",\"echo \\\"$EIGHT\\\"; echo \\\"$MULTI\\\"; printf %s \\\"$IMPORTED\\\" | base64\"],"
                    + "\"variables\":[\"EIGHT\",\"MULTI\",\"IMPORTED\"],\"reason\":\"leak canary\",\"wait_seconds\":60}}");
            assertTrue(result.contains("[MASKED:EIGHT]") && result.contains("[MASKED:IMPORTED]"), "masked MCP output");
            session.call("tools/call", "{\"name\":\"list_variables\",\"arguments\":{\"environment\":\"dev\"}}");
            scanProcess(mcp.pid(), "environ", "the MCP server's environment");
            scanProcess(mcp.pid(), "cmdline", "the MCP server's argv");
        } finally {
            mcp.destroy();
            mcp.waitFor();
        }

        ok(b.run("audit"));
        ok(b.run("audit", "verify"));
        ok(b.run("list", "dev"));

        // a crash: the daemon killed while a run holds the values; every process's argv meanwhile
        Spawned held = b.start("run", "--env", "dev", "--", "sh", "-c", "echo ready; exec sleep 3017");
        assertEquals("ready", held.nextLine(Tmux.WAIT));
        long child = DaemonIT.hostPid("3017");
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(q -> q.getFileName().toString().matches("\\d+")).toList()) {
                scanProcess(Long.parseLong(p.getFileName().toString()), "cmdline", "argv of process " + p.getFileName());
            }
        }
        ProcessHandle.of(daemon).orElseThrow().destroyForcibly();
        DaemonIT.awaitGone(daemon, "the killed daemon");
        DaemonIT.awaitGone(child, "the run of the killed daemon");
        held.await(Tmux.WAIT);
        ok(b.run("daemon", "--detach"));
        ok(b.run("run", "--env", "dev", "--only", "EIGHT", "--", "true"));
        ok(b.run("stop"));

        // the scan
        scanText(b.transcript.toString(), "brokerctl's output");
        scanText(seen.toString(), "the console screen and the MCP transcript");
        List<Path> files = new ArrayList<>();
        try (Stream<Path> all = Files.walk(dir)) {
            all.filter(Files::isRegularFile).forEach(files::add);
        }
        assertTrue(files.stream().anyMatch(p -> p.endsWith("brokerd.log")), "the log was scanned: " + files);
        assertTrue(files.stream().anyMatch(p -> p.endsWith("vault.db")), "the vault was scanned: " + files);
        Path systemTmp = Path.of(System.getProperty("java.io.tmpdir"));
        // entry by entry: other tests' files come and go meanwhile, and one that vanishes or cannot be
        // read must not end the walk (Files.walk would stop at the first)
        Files.walkFileTree(systemTmp, java.util.Set.of(), 3, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult preVisitDirectory(Path d, java.nio.file.attribute.BasicFileAttributes a) {
                return d.startsWith(dir) ? java.nio.file.FileVisitResult.SKIP_SUBTREE : java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFile(Path p, java.nio.file.attribute.BasicFileAttributes a) {
                if (a.isRegularFile() && Files.isReadable(p) && a.lastModifiedTime().compareTo(FileTime.from(start)) >= 0) {
                    files.add(p);
                }
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path p, IOException e) {
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
        for (Path f : files) {
            try {
                if (Files.size(f) < 64L << 20) {
                    scanText(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1), f.toString());
                }
            } catch (java.nio.file.NoSuchFileException e) {
                // gone meanwhile
            }
        }
    }

    /** Each canary raw and as tools print it: base64 (std, url), hex, percent-encoding, JSON, each line of the multi-line one. */
    static Map<String, String> forms() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String v : List.of(LONG, EIGHT, MULTI, IMPORTED)) {
            String label = v.length() + "-byte canary";
            byte[] bytes = v.getBytes(StandardCharsets.UTF_8);
            out.put(v, label + " (raw)");
            out.put(Base64.getEncoder().withoutPadding().encodeToString(bytes), label + " (base64)");
            out.put(Base64.getUrlEncoder().withoutPadding().encodeToString(bytes), label + " (base64url)");
            out.put(HexFormat.of().formatHex(bytes), label + " (hex)");
            out.put(HexFormat.of().withUpperCase().formatHex(bytes), label + " (HEX)");
            out.put(URLEncoder.encode(v, StandardCharsets.UTF_8), label + " (percent-encoded)");
            out.put(v.replace("\n", "\\n"), label + " (JSON)");
            for (String line : v.split("\n")) {
                if (line.startsWith("lc-")) {
                    out.put(line, label + " (one line)");
                }
            }
        }
        return out;
    }

    /** Output for an assertion message, with every canary form blanked out. */
    static String safe(Object output) {
        String s = String.valueOf(output);
        for (String form : forms().keySet()) {
            s = s.replace(form, "<canary>");
        }
        return s;
    }

    static void scanText(String text, String where) {
        forms().forEach((form, label) -> assertFalse(text.contains(form), where + " contains the " + label));
    }

    private static void scanProcess(long pid, String file, String what) {
        try {
            byte[] b = Files.readAllBytes(Path.of("/proc", Long.toString(pid), file));
            scanText(new String(b, StandardCharsets.ISO_8859_1).replace('\0', ' '), what);
        } catch (IOException e) {
            // ended meanwhile, or not ours to read
        }
    }

    private static void ok(Brokerctl.Result r) {
        assertEquals(0, r.exit(), safe(r));
    }

    private static Process mcpServer(Brokerctl b) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(b.launcher.toString(), "mcp").redirectErrorStream(false);
        pb.environment().clear();
        pb.environment().putAll(b.env);
        pb.environment().remove("BROKERCTL_PASSPHRASE_FILE");   // an agent's MCP server has no passphrase
        pb.redirectError(ProcessBuilder.Redirect.appendTo(b.home.resolve("mcp-stderr.txt").toFile()));
        return pb.start();
    }

    /** JSON-RPC over the MCP server's stdio, one line a message; every line read goes to {@code seen}. */
    private static final class Mcp {
        private final OutputStream in;
        private final BufferedReader out;
        private final StringBuilder seen;
        private int id;

        Mcp(Process p, StringBuilder seen) {
            this.in = p.getOutputStream();
            this.out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            this.seen = seen;
        }

        void notify(String method) throws IOException {
            send("{\"jsonrpc\":\"2.0\",\"method\":\"" + method + "\"}");
        }

        /** Sends a request and returns the line of its response (notifications before it are kept too). */
        String call(String method, String params) throws IOException {
            int n = ++id;
            send("{\"jsonrpc\":\"2.0\",\"id\":" + n + ",\"method\":\"" + method + "\",\"params\":" + params + "}");
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (System.nanoTime() < deadline) {
                String line = out.readLine();
                if (line == null) {
                    throw new AssertionError("the MCP server closed its stdout during " + method);
                }
                seen.append(line).append('\n');
                if (line.contains("\"id\":" + n + ",") || line.contains("\"id\":" + n + "}")) {
                    assertFalse(line.contains("\"error\":{"), method + " failed: " + safe(line));
                    return line;
                }
            }
            throw new AssertionError("no response to " + method);
        }

        private void send(String line) throws IOException {
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        }
    }
}

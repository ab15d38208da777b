package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * A private tmux server driving one console: a real terminal for the commands that read from one.
 * Its own socket, no configuration file, {@code /bin/sh} as the shell, and optionally run as
 * another user (a {@link Unprivileged#prefix()}: the server, and so the panes, run as that user).
 */
final class Tmux {

    static final Duration WAIT = Duration.ofSeconds(30);

    private final Path socket;
    private final List<String> asUser;
    private final int width;
    private final int height;

    Tmux(Path socket) {
        this(socket, List.of());
    }

    Tmux(Path socket, List<String> asUser) {
        this(socket, asUser, 200, 50);
    }

    /** A terminal of {@code width} x {@code height}, as a human's might be (80 x 24). */
    Tmux(Path socket, List<String> asUser, int width, int height) {
        this.socket = socket;
        this.asUser = List.copyOf(asUser);
        this.width = width;
        this.height = height;
    }

    /** Runs {@code brokerctl ARGS} in a new tmux session, or {@code sh -c ...} when args[0] is sh. */
    void start(Brokerctl b, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("env"));
        b.env.forEach((k, v) -> cmd.add(k + "=" + v));
        if (!args[0].equals("sh")) {
            cmd.add(b.launcher.toString());
        }
        cmd.addAll(List.of(args));
        tmux("new-session", "-d", "-x", Integer.toString(width), "-y", Integer.toString(height), String.join(" ", cmd.stream().map(Tmux::quote).toList()));
    }

    void type(String line) throws Exception {
        tmux("send-keys", "-l", line);
        tmux("send-keys", "Enter");
    }

    /** Sends keys by tmux's names ({@code C-c}, {@code Enter}), not as literal text. */
    void keys(String... keys) throws Exception {
        List<String> args = new ArrayList<>(List.of("send-keys"));
        args.addAll(List.of(keys));
        tmux(args.toArray(String[]::new));
    }

    String screen() throws Exception {
        return tmux("capture-pane", "-p", "-S", "-500");
    }

    /** Only what the terminal shows now, as the human sees it: no scrollback. */
    String visibleScreen() throws Exception {
        return tmux("capture-pane", "-p");
    }

    private static final List<String> PROMPTS = List.of("[a]pprove once, [g]rant", "type the code shown above",
            "grant for how long", "message to the requester", "inject only these variables");

    int prompts() throws Exception {
        int n = 0;
        for (String line : screen().split("\\n")) {
            for (String p : PROMPTS) {
                if (line.contains(p)) {
                    n++;
                }
            }
        }
        return n;
    }

    /** Types a line and waits for the console's next prompt. */
    void answer(String line) throws Exception {
        int before = prompts();
        type(line);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (prompts() <= before) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no prompt after '" + line + "'; screen:\n" + screen());
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
    }

    /** Polls the screen: the console's output is the signal, with a deadline. */
    void awaitScreen(String text, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!screen().contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the console never showed '" + text + "'; screen:\n" + screen());
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
    }

    String lastCode() throws Exception {
        String code = null;
        for (String line : screen().split("\n")) {
            if (line.trim().startsWith("code:")) {
                code = line.trim().substring(5).trim();
            }
        }
        assertNotNull(code, "a code is shown with the request");
        return code;
    }

    /** Resizes the session's window, as a human resizing the terminal would. */
    void resize(int columns, int rows) throws Exception {
        tmux("resize-window", "-x", Integer.toString(columns), "-y", Integer.toString(rows));
    }

    void kill() throws Exception {
        tmux("kill-server");
    }

    /** The pid of the (first) pane's process: the command, or the shell that runs it. */
    long panePid() throws Exception {
        return Long.parseLong(tmux("display-message", "-p", "#{pane_pid}").trim());
    }

    private String tmux(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(asUser);
        cmd.addAll(List.of("tmux", "-f", "/dev/null", "-S", socket.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        // a new server's panes run through $SHELL, else the user's login shell (nologin for a system user)
        pb.environment().put("SHELL", "/bin/sh");
        // a new server, and so every pane, inherits this environment: none of the developer's
        // BROKERCTL_* (a BROKERCTL_SOCKET would send the console to another daemon); start() sets ours
        pb.environment().keySet().removeIf(k -> k.startsWith("BROKERCTL_"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}

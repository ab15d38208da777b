package dev.brokerctl.containment;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The agents the sandbox knows, told apart by the name of the program started: what state each
 * must write, which of its files name code that runs later (kept read-only even inside that state),
 * and the one credential of its own it keeps in its environment. Anything else is {@link #GENERIC}:
 * no state of its own, nothing kept.
 */
public enum Agent {

    /** Claude Code: {@code ~/.claude} and {@code ~/.claude.json}; settings and hooks read-only. */
    CLAUDE("claude", List.of(".claude", ".claude.json"),
            List.of(".claude/settings.json", ".claude/settings.local.json", ".claude/hooks"),
            Set.of("ANTHROPIC_API_KEY")),

    /** OpenAI Codex CLI: {@code ~/.codex}; its config (which names MCP servers to start) read-only. */
    CODEX("codex", List.of(".codex"), List.of(".codex/config.toml"), Set.of("OPENAI_API_KEY")),

    /** Any other program (a shell, a test): nothing of its own is writable, nothing kept. */
    GENERIC("generic", List.of(), List.of(), Set.of());

    private final String id;
    private final List<String> state;
    private final List<String> runsLater;
    private final Set<String> keeps;

    Agent(String id, List<String> state, List<String> runsLater, Set<String> keeps) {
        this.id = id;
        this.state = state;
        this.runsLater = runsLater;
        this.keeps = keeps;
    }

    /** The agent a command line starts, from its program's file name ({@code /usr/bin/claude}: claude). */
    public static Agent of(String program) {
        String name = Path.of(program).getFileName().toString();
        for (Agent a : values()) {
            if (a != GENERIC && a.id.equals(name)) {
                return a;
            }
        }
        return GENERIC;
    }

    public String id() {
        return id;
    }

    /** The state it must write, under {@code home}. */
    public List<Path> state(Path home) {
        return state.stream().map(home::resolve).toList();
    }

    /** Its files under {@code home} that name code run later (settings with hooks, hook scripts). */
    public List<Path> runsLater(Path home) {
        return runsLater.stream().map(home::resolve).toList();
    }

    /** The variables it keeps although they look secret: its own credential. */
    public Set<String> keeps() {
        return keeps;
    }
}

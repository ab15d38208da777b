package dev.brokerctl.approval;

import dev.brokerctl.protocol.Durations;
import dev.brokerctl.protocol.Message;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A pending request as lines for a terminal. The requester controls most of what is shown, so
 * every free-text field is escaped ({@link ConsoleText}) and cut to one line, the block has a fixed
 * maximum height, and it always ends with the command and then the code: nothing the requester
 * writes can push what runs off the screen or sit between it and the code.
 *
 * <p>Fields are read defensively: an absent field, or one of an unexpected type, is left out.
 * Widths below {@value #MIN_WIDTH} columns are rendered as {@value #MIN_WIDTH}.
 */
public final class RequestView {

    public static final int DEFAULT_WIDTH = 80;
    public static final int MAX_RUN_LINES = 18;
    public static final int MAX_VARIABLE_LINES = 12;
    static final int MIN_WIDTH = 60;
    static final int MAX_RISKS = 5;
    static final int COMMAND_LINES = 3;
    private static final String COMMAND = "  command: ";

    private RequestView() {
    }

    /** A pending run ({@code run} of a queued {@code {"type":"run","run":{...}}}). */
    public static List<String> run(Message run, int width, boolean color) {
        Map<String, Object> r = legacy(run.asMap());
        int w = width(width);
        List<String> out = new ArrayList<>();
        String env = str(r, "environment");
        out.add(bold(color, clip("Request " + num(r, "run_id", -1) + ": run a command in '" + ConsoleText.line(env, 24)
                + "'" + policy(r, env), w)));
        addIf(out, !str(r, "executable").isEmpty(), fit("  program: ", str(r, "executable"), "", w));
        if (!str(r, "interpreter").isEmpty()) {
            String via = str(r, "interpreter_via");
            out.add(fit("  via interpreter ", str(r, "interpreter"),
                    via.isEmpty() ? "" : " (#! through " + ConsoleText.line(via, w / 3) + ")", w));
        }
        addIf(out, !str(r, "cwd").isEmpty(), fit("  cwd: ", str(r, "cwd"), "", w));
        List<String> vars = strings(r, "variables");
        if (bool(r, "all_variables")) {
            out.add(fit("  variables: all " + (vars.isEmpty() ? "" : vars.size() + " ") + "of '"
                    + ConsoleText.line(env, 24) + "'" + (vars.isEmpty() ? "" : ": "), String.join(", ", vars), "", w));
        } else if (!vars.isEmpty()) {
            out.add(fit("  variables: ", String.join(", ", vars), " (" + vars.size() + ")", w));
        }
        List<String> refs = strings(r, "refs");
        addIf(out, !refs.isEmpty(), fit("  refs: ", String.join(", ", refs), " (" + refs.size() + ")", w));
        List<Map<String, Object>> overrides = maps(r, "overrides");
        if (r.containsKey("overrides") || r.containsKey("override_count")) {
            long changed = num(r, "override_count", overrides.size());
            out.add(changed == 0 ? "  environment: the daemon's"
                    : fit("  environment: the daemon's + " + changed + " changed: ",
                            String.join(", ", overrides.stream().map(o -> str(o, "name")).toList()), " ([v])", w));
        }
        List<String> options = new ArrayList<>();
        if (bool(r, "stdin")) {
            options.add("stdin: attached");
        }
        List<String> timeouts = new ArrayList<>();
        if (r.get("timeout_ms") instanceof Number t) {
            timeouts.add("command " + (t.longValue() <= 0 ? "none" : Durations.format(Duration.ofMillis(t.longValue()))));
        }
        if (r.get("approval_timeout_ms") instanceof Number t && t.longValue() > 0) {
            timeouts.add("approval " + Durations.format(Duration.ofMillis(t.longValue())));
        }
        if (!timeouts.isEmpty()) {
            options.add("timeouts: " + String.join(", ", timeouts));
        }
        addIf(out, !options.isEmpty(), clip("  " + String.join("; ", options), w));
        addIf(out, !str(r, "reason").isEmpty(), fit("  reason (requester's words): ", str(r, "reason"), "", w));
        addWho(out, r, w);
        List<String> tail = commandAndCode(run, w, color);
        addRisks(out, riskLines(r, w), MAX_RUN_LINES - out.size() - tail.size(), color);
        out.addAll(tail);
        return out;
    }

    /** A pending variable request ({@code variable} of a queued {@code {"type":"variable",...}}). */
    public static List<String> variable(Message variable, int width, boolean color) {
        Map<String, Object> v = legacy(variable.asMap());
        int w = width(width);
        List<String> out = new ArrayList<>();
        String env = str(v, "environment");
        String policy = str(v, "policy");
        out.add(bold(color, clip("Request " + num(v, "request_id", -1) + ": a value for a new variable '"
                + ConsoleText.line(str(v, "name"), 32) + "' in '" + ConsoleText.line(env, 24) + "'"
                + (policy.isEmpty() ? "" : " (policy " + ConsoleText.line(policy, 12) + ")"), w)));
        if (policy.equals("auto")) {
            for (String l : wrapWords("  WARNING: '" + ConsoleText.line(env, 24) + "' is an auto environment: the requester"
                    + " will be able to use this value in any command without asking", w)) {
                out.add(red(color, l));
            }
        }
        addIf(out, !str(v, "description").isEmpty(), fit("  description (requester's words): ", str(v, "description"), "", w));
        addWho(out, v, w);
        addRisks(out, riskLines(v, w), MAX_VARIABLE_LINES - out.size(), color);
        return out;
    }

    /** The last lines of a run's block: the command (at most {@value #COMMAND_LINES} lines), then the code. */
    public static List<String> commandAndCode(Message run, int width, boolean color) {
        Map<String, Object> r = run.asMap();
        int w = width(width);
        List<String> out = new ArrayList<>();
        if (r.get("argv") instanceof List<?>) {
            String rest = Quoting.argv(strings(r, "argv"));
            int room = w - COMMAND.length();
            // the marker's length with every char still to come: the real count is never longer
            int marker = ("… (" + rest.codePointCount(0, rest.length()) + " more chars; [f] shows the full command)").length();
            for (int i = 0; i < COMMAND_LINES && !rest.isEmpty(); i++) {
                boolean cut = i == COMMAND_LINES - 1 && ConsoleText.columns(rest) > room;
                String part = cutColumns(rest, cut ? room - marker : room);
                rest = rest.substring(part.length());
                out.add(clip((i == 0 ? COMMAND : " ".repeat(COMMAND.length())) + part
                        + (cut ? "… (" + rest.codePointCount(0, rest.length()) + " more chars; [f] shows the full command)" : ""), w));
            }
        }
        out.add("  code: " + bold(color, ConsoleText.line(str(r, "code"), w - 8)));
        return out;
    }

    /** Every override in full, escaped, one per line ({@code [v]}). */
    public static List<String> overrides(Message run) {
        Map<String, Object> r = run.asMap();
        List<Map<String, Object>> overrides = maps(r, "overrides");
        List<String> out = new ArrayList<>();
        for (Map<String, Object> o : overrides) {
            out.add("  " + ConsoleText.escape(str(o, "name"))
                    + (o.get("value") instanceof String value ? "=" + ConsoleText.escape(value) : " (value not shown)")
                    + (risky(o) ? "  (risk: " + why(o) + ")" : ""));
        }
        long count = num(r, "override_count", overrides.size());
        if (count != overrides.size()) {
            out.add("  (the daemon sent " + overrides.size() + " of " + count + " changed variables)");
        }
        if (out.isEmpty()) {
            out.add("  the requester changes nothing in the daemon's environment");
        }
        return out;
    }

    /** The whole command, escaped and wrapped ({@code [f]}). */
    public static List<String> fullCommand(Message run, int width) {
        return wrap(COMMAND, Quoting.argv(strings(run.asMap(), "argv")), width(width));
    }

    /** Every risk line of a run or variable request, each wrapped rather than cut ({@code [r]}). */
    public static List<String> risks(Message request, int width) {
        int w = width(width);
        List<String> out = new ArrayList<>();
        for (String risk : riskLines(legacy(request.asMap()), Integer.MAX_VALUE)) {
            out.addAll(wrap("  ", risk.substring(2), w));
        }
        if (out.isEmpty()) {
            out.add("  no risks named");
        }
        return out;
    }

    // ------------------------------------------------------------------ parts

    private static String policy(Map<String, Object> r, String env) {
        if (!(r.get("policies") instanceof Map<?, ?> policies) || policies.isEmpty()) {
            return "";
        }
        if (policies.size() == 1 && policies.containsKey(env)) {
            return " (policy " + ConsoleText.line(String.valueOf(policies.get(env)), 12) + ")";
        }
        List<String> each = new ArrayList<>();
        policies.forEach((k, v) -> each.add(ConsoleText.line(String.valueOf(k), 24) + " "
                + ConsoleText.line(String.valueOf(v), 12)));
        return " (policies: " + String.join(", ", each) + ")";
    }

    /** What the daemon verified, then what the requester says about itself, labelled as a claim. */
    private static void addWho(List<String> out, Map<String, Object> r, int w) {
        if (r.get("verified") instanceof Map<?, ?> map) {
            Map<String, Object> v = cast(map);
            if (!(v.get("pid") instanceof Number pid) || pid.longValue() <= 0) {
                out.add("  verified: nothing (the daemon could not read this requester's pid)");
            } else {
                String before = "  verified: pid " + pid + (v.get("uid") instanceof Number u ? " uid " + u : "") + " ";
                String after = (v.get("tty") instanceof String tty ? tty.isEmpty() ? ", no terminal"
                        : ", terminal " + ConsoleText.line(tty, 24) : "")
                        + (Boolean.FALSE.equals(v.get("sandboxed")) ? ", NOT sandboxed" : "");
                out.add(fit(str(v, "exe").isEmpty() ? before.stripTrailing() : before, str(v, "exe"), after, w));
            }
        }
        if (r.get("claimed") instanceof Map<?, ?> map) {
            Map<String, Object> c = cast(map);
            String version = str(c, "version");
            String after = (version.isEmpty() ? "" : " " + ConsoleText.line(version, 20))
                    + (c.get("pid") instanceof Number p ? " (pid " + p + ")" : "");
            if (!str(c, "name").isEmpty() || !after.isEmpty()) {
                out.add(fit("  claims to be: ", str(c, "name").isEmpty() ? "(no name)" : str(c, "name"), after, w));
            }
        }
    }

    /** Masking off, risky environment changes, then the daemon's risks: each one line of {@code w}. */
    private static List<String> riskLines(Map<String, Object> r, int w) {
        List<String> out = new ArrayList<>();
        if (Boolean.FALSE.equals(r.get("masking"))) {
            out.add("  masking: OFF, output comes back raw");
        }
        for (Map<String, Object> o : maps(r, "overrides")) {
            if (risky(o)) {
                if (str(o, "name").equals("PATH") && o.get("why") instanceof String dirs) {
                    out.add(fit("  risk: ", dirs, "", w));   // names the directories, which the value would bury
                    continue;
                }
                String after = " (" + why(o) + ")";
                if (!(o.get("value") instanceof String value)) {
                    out.add(fit("  risk: environment ", str(o, "name"), " changed" + after, w));
                    continue;
                }
                String before = "  risk: environment " + ConsoleText.line(str(o, "name"), Math.min(32, w / 3)) + "=";
                // the value is what loads: the explanation gives way to it
                boolean whole = ConsoleText.columns(before + ConsoleText.escape(value) + after) <= w;
                out.add(fit(before, value, whole ? after : "", w));
            }
        }
        List<String> risks = r.get("risks") instanceof List<?> ? strings(r, "risks")
                : RiskHints.of(strings(r, "argv"), strings(r, "value_in_argv"));   // a daemon that names none yet
        for (String risk : risks) {
            out.add(fit("  risk: ", risk, "", w));
        }
        return out;
    }

    private static boolean risky(Map<String, Object> override) {
        Object risk = override.get("risk");
        return Boolean.TRUE.equals(risk) || risk instanceof String s && !s.isEmpty();
    }

    private static String why(Map<String, Object> override) {
        if (override.get("risk") instanceof String s) {
            return ConsoleText.line(s, 60);
        }
        if (override.get("why") instanceof String s) {
            return ConsoleText.line(s, 60);
        }
        String name = str(override, "name");
        return name.equals("PATH") ? "changes which programs run" : "changes how programs load code";
    }

    private static void addRisks(List<String> out, List<String> risks, int budget, boolean color) {
        int shown = risks.size() <= Math.min(MAX_RISKS, budget) ? risks.size() : Math.min(MAX_RISKS, budget - 1);
        for (int i = 0; i < shown; i++) {
            out.add(red(color, risks.get(i)));
        }
        if (shown < risks.size()) {
            out.add(red(color, "  +" + (risks.size() - shown) + " more risks ([r] lists them)"));
        }
    }

    /**
     * The daemon's older flat shape ({@code client}, {@code client_version}, {@code pid},
     * {@code tty} and {@code executable} = the requester's exe) as verified and claimed fields, so
     * the requester's exe is never shown as the program. Goes once the daemon sends the new shape.
     */
    private static Map<String, Object> legacy(Map<String, Object> r) {
        if (r.containsKey("verified") || !r.containsKey("client")) {
            return r;
        }
        Map<String, Object> m = new java.util.LinkedHashMap<>(r);
        Map<String, Object> verified = new java.util.LinkedHashMap<>();
        verified.put("pid", r.get("pid"));
        verified.put("exe", m.remove("executable"));
        verified.put("tty", r.get("tty"));
        m.put("verified", verified);
        m.put("claimed", Map.of("name", str(r, "client"), "version", str(r, "client_version")));
        return m;
    }

    // ------------------------------------------------------------------ lines

    /** {@code before + free + after} on one line of {@code w}: only the free text is escaped and cut. */
    private static String fit(String before, String free, String after, int w) {
        int room = w - ConsoleText.columns(before) - ConsoleText.columns(after);
        // too little room for a cut that names its length: the label after it tells where the rest is
        String cut = room >= 12 || free.isEmpty() ? ConsoleText.line(free, room) : "…";
        return clip(before + cut + after, w);
    }

    /** Already-safe text cut to {@code w} columns (a last guard; fit() leaves room for its parts). */
    private static String clip(String safe, int w) {
        return ConsoleText.columns(safe) <= w ? safe : cutColumns(safe, w - 1) + "…";
    }

    private static String cutColumns(String safe, int columns) {
        int used = 0;
        int i = 0;
        while (i < safe.length()) {
            int c = safe.codePointAt(i);
            if (used + ConsoleText.columns(c) > columns) {
                break;
            }
            used += ConsoleText.columns(c);
            i += Character.charCount(c);
        }
        return safe.substring(0, i);
    }

    /** Safe text in lines of {@code w}, every character kept, continuation lines aligned under the first. */
    private static List<String> wrap(String first, String safe, int w) {
        List<String> out = new ArrayList<>();
        int room = Math.max(w - first.length(), 1);
        String rest = safe;
        do {
            String part = cutColumns(rest, room);
            if (part.isEmpty()) {
                part = rest.substring(0, Character.charCount(rest.codePointAt(0)));
            }
            out.add((out.isEmpty() ? first : " ".repeat(first.length())) + part);
            rest = rest.substring(part.length());
        } while (!rest.isEmpty());
        return out;
    }

    /** Our own sentence (with escaped parts) wrapped at spaces, continuation indented. */
    private static List<String> wrapWords(String text, int w) {
        List<String> out = new ArrayList<>();
        String line = "";
        for (String word : text.trim().split(" +")) {
            String next = line.isEmpty() ? "  " + word : line + " " + word;
            if (!line.isEmpty() && ConsoleText.columns(next) > w) {
                out.add(clip(line, w));
                next = "    " + word;
            }
            line = next;
        }
        out.add(clip(line, w));
        return out;
    }

    private static int width(int width) {
        return width <= 0 ? DEFAULT_WIDTH : Math.max(width, MIN_WIDTH);
    }

    private static void addIf(List<String> out, boolean add, String line) {
        if (add) {
            out.add(line);
        }
    }

    private static String bold(boolean color, String s) {
        return color ? "\u001b[1m" + s + "\u001b[0m" : s;
    }

    private static String red(boolean color, String s) {
        return color ? "\u001b[31m" + s + "\u001b[0m" : s;
    }

    // ------------------------------------------------------------------ fields

    private static String str(Map<String, Object> m, String key) {
        return m.get(key) instanceof String s ? s : "";
    }

    private static long num(Map<String, Object> m, String key, long fallback) {
        return m.get(key) instanceof Number n ? n.longValue() : fallback;
    }

    private static boolean bool(Map<String, Object> m, String key) {
        return Boolean.TRUE.equals(m.get(key));
    }

    private static List<String> strings(Map<String, Object> m, String key) {
        List<String> out = new ArrayList<>();
        if (m.get(key) instanceof List<?> list) {
            for (Object o : list) {
                out.add(o instanceof String s ? s : String.valueOf(o));
            }
        }
        return out;
    }

    private static List<Map<String, Object>> maps(Map<String, Object> m, String key) {
        List<Map<String, Object>> out = new ArrayList<>();
        if (m.get(key) instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> map) {
                    out.add(cast(map));
                }
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Map<?, ?> map) {
        return (Map<String, Object>) map;
    }
}

package dev.brokerctl.mcp;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Message;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run as the daemon reports it ({@code run_state}: the daemon holds the run and its masked
 * output) turned into what a tool returns: the structured content, the agent's next step in
 * words, and a one-line summary for the text block. Nothing here sees a value; output arrives
 * masked.
 */
final class RunState {

    /** Every status a run result can carry; {@code error} is a call that could not be carried out. */
    static final List<String> STATUSES = List.of("pending_approval", "running", "completed", "timed_out",
            "approval_timed_out", "denied", "failed_to_start", "stopped", "daemon_stopped", "error");

    /** Statuses of a run that will not change any more. */
    static boolean settled(String status) {
        return !"pending_approval".equals(status) && !"running".equals(status);
    }

    /** {@code isError}: only when the call could not be carried out, never for an outcome a human chose. */
    static boolean isError(String status) {
        return "failed_to_start".equals(status) || "error".equals(status);
    }

    private RunState() {
    }

    /** The structured content of a run result; {@code hint} may be null. */
    static Map<String, Object> structured(Message m, String hint) throws BrokerException {
        Map<String, Object> out = new LinkedHashMap<>();
        String status = m.string("status");
        out.put("status", status);
        out.put("run_id", m.string("handle"));
        out.put("run_number", m.number("run_id", -1));
        out.put("exit_code", m.has("exit_code") ? m.number("exit_code", -1) : null);
        stream(out, "stdout", m.message("stdout"));
        stream(out, "stderr", m.message("stderr"));
        out.put("duration_ms", m.has("duration_ms") ? m.number("duration_ms", 0) : null);
        out.put("masked_count", m.has("masked_count") ? m.number("masked_count", 0) : null);
        out.put("message", message(m, status));
        if (hint != null) {
            out.put("hint", hint);
        }
        return out;
    }

    private static void stream(Map<String, Object> out, String name, Message page) throws BrokerException {
        if (page == null) {
            page = Message.of("page");
        }
        out.put(name, page.string("text", ""));
        out.put(name + "_offset", page.number("offset", 0));
        out.put(name + "_next_offset", page.number("next_offset", 0));
        out.put(name + "_total_bytes", page.number("total_bytes", 0));
        out.put(name + "_truncated", page.bool("truncated", false));
    }

    /** What happened and the next step, by status. */
    static String message(Message m, String status) throws BrokerException {
        String handle = "\"" + m.string("handle") + "\"";
        String n = "run " + m.number("run_id", -1);
        long exit = m.number("exit_code", -1);
        boolean ran = m.has("exit_code");
        String detail = m.string("detail", "");
        String more = outputNote(m);
        return switch (status) {
            case "pending_approval" -> n + " is waiting for a human to approve it in their brokerctl console"
                    + (m.number("approval_timeout_ms", 0) > 0 ? " (if nobody decides within "
                    + m.number("approval_timeout_ms", 0) / 1000 + " s it ends as approval_timed_out)" : "")
                    + "; call get_run with run_id " + handle + " to keep waiting, or stop_run to withdraw it";
            case "running" -> n + " is still running (" + m.number("duration_ms", 0) / 1000 + " s so far); call"
                    + " get_run with run_id " + handle + " and stdout_offset/stderr_offset set to the next offsets"
                    + " to get only new output, or stop_run to stop it" + more;
            case "completed" -> {
                String how = m.has("signal") ? "the command was killed by signal " + m.number("signal", 0)
                        + " (exit code " + exit + ")" : "the command exited with code " + exit;
                yield how + maskingNote(m) + more;
            }
            case "timed_out" -> "the command did not finish within its timeout of " + m.number("timeout_ms", 0) / 1000
                    + " s and was killed with everything it started (exit code " + exit + "); the output up to then"
                    + " is included; run it again with a larger timeout_seconds if it needs longer" + maskingNote(m) + more;
            case "approval_timed_out" -> "nobody approved " + n + " in time" + (detail.isEmpty() ? "" : " (" + detail + ")")
                    + "; the command did not run; ask the human to watch their brokerctl approval console"
                    + " (brokerctl approve), then call run_command again";
            case "denied" -> "a human denied " + n + (detail.isEmpty() ? "" : ": " + detail)
                    + "; the command did not run; do not retry it unchanged, ask the human what they expect";
            case "failed_to_start" -> "the command did not run: "
                    + Daemon.advice(m.string("error_code", "internal"), detail, BrokerTools.RUN_COMMAND);
            case "stopped" -> ran ? n + " was stopped by stop_run: the command was killed with everything it"
                    + " started (exit code " + exit + ")" + more
                    : n + " was withdrawn by stop_run before anyone approved it; the command did not run";
            case "daemon_stopped" -> "the brokerctl daemon stopped (brokerctl stop) while " + n
                    + (ran ? " ran; the command was killed (exit code " + exit + ")" : m.has("duration_ms")
                    ? " ran; the command was killed" : " waited; the command did not run")
                    + "; ask the human to start the daemon again (brokerctl daemon), then call run_command again"
                    + " if it is still needed" + more;
            default -> status;
        };
    }

    private static String maskingNote(Message m) throws BrokerException {
        StringBuilder b = new StringBuilder();
        long masked = m.number("masked_count", 0);
        if (masked > 0) {
            b.append("; ").append(masked).append(masked == 1 ? " secret value was" : " secret values were")
                    .append(" masked in the output as [MASKED:NAME]");
        }
        List<String> unmasked = m.strings("unmasked");
        if (unmasked != null && !unmasked.isEmpty()) {
            b.append("; warning: not masked because shorter than 4 bytes: ").append(String.join(", ", unmasked));
        }
        if (m.bool("narrowed", false)) {
            b.append("; the human narrowed the variables to ").append(String.join(", ", m.strings("variables")))
                    .append(": the others were not injected (ask for only those next time)");
        }
        return b.toString();
    }

    /** Says how to read on when a page did not hold all of a stream. */
    private static String outputNote(Message m) throws BrokerException {
        StringBuilder b = new StringBuilder();
        for (String stream : List.of("stdout", "stderr")) {
            Message p = m.message(stream);
            if (p == null || !p.bool("truncated", false)) {
                continue;
            }
            long total = p.number("total_bytes", 0);
            long next = p.number("next_offset", 0);
            b.append("; ").append(stream).append(" has ").append(total).append(" bytes, not all shown");
            if (next < total) {
                b.append(": call get_run with ").append(stream).append("_offset ").append(next).append(" to read on");
            } else {
                b.append(" (the middle is left out; get_run with ").append(stream)
                        .append("_offset 0 pages through all that is held)");
            }
        }
        return b.toString();
    }

    /** The text block: one or two lines for a human, not the structured content again. */
    static String summary(Map<String, Object> s) {
        StringBuilder b = new StringBuilder();
        Object number = s.get("run_number");
        b.append("run ").append(number == null ? "" : number + " ").append(s.get("status"));
        if (s.get("exit_code") != null) {
            b.append(" (exit code ").append(s.get("exit_code")).append(")");
        }
        b.append(": ").append(s.get("message"));
        if (s.containsKey("stdout_total_bytes")) {
            b.append("\nstdout ").append(s.get("stdout_total_bytes")).append(" bytes, stderr ")
                    .append(s.get("stderr_total_bytes")).append(" bytes; the output is in the structured content"
                            + " (stdout, stderr)");
        }
        if (s.get("hint") != null) {
            b.append("\nhint: ").append(s.get("hint"));
        }
        return b.toString();
    }
}

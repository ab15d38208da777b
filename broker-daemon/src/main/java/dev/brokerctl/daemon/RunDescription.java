package dev.brokerctl.daemon;

import dev.brokerctl.approval.RiskHints;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What an approver console is shown of a pending request, made once when it is submitted, from
 * what the daemon resolved and verified (never a value). Risk lines are computed here, in the
 * daemon: a requester can always speak the socket protocol directly, so a rule that lives only in
 * a client proves nothing.
 */
final class RunDescription {

    private static final Pattern SHELL = Pattern.compile("(ba|da|z|k|a|fi|mk|)sh|busybox");
    private static final Pattern INTERPRETER = Pattern.compile(
            "python[0-9.]*|node(js)?|deno|bun|perl[0-9.]*|ruby[0-9.]*|php[0-9.]*|lua[0-9.]*|tclsh|wish|R|Rscript|pwsh");
    private static final Set<String> CONTAINERS = Set.of("docker", "podman", "nerdctl", "kubectl", "lxc", "systemd-run");

    private RunDescription() {
    }

    /** @param launcher how the run will be started: a run that is not contained says so */
    static Map<String, Object> of(Run r, Map<String, String> policies, List<String> allNames,
            Duration approvalTimeout, Launcher launcher) {
        RunRequest q = r.request();
        Run.Resolved res = r.resolved();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run_id", r.id());
        m.put("environment", q.environment());
        m.put("policies", policies);
        m.put("argv", q.argv());
        m.put("executable", res.executable().path().toString());
        if (res.executable().interpreter() != null) {
            m.put("interpreter", res.executable().interpreter().path().toString());
            if (res.executable().via() != null) {
                m.put("interpreter_via", res.executable().via().toString());
            }
        }
        m.put("cwd", res.cwd().toString());
        m.put("variables", q.variables() != null ? q.variables() : allNames);
        m.put("all_variables", q.variables() == null);
        List<Object> refs = new ArrayList<>();
        for (RunRequest.Ref ref : q.refs()) {
            refs.add(ref.name() + "=broker://" + ref.environment() + "/" + ref.variable());
        }
        m.put("refs", refs);
        m.put("reason", q.reason());
        m.put("verified", r.requester().peer().describe());
        Map<String, Object> claimed = new LinkedHashMap<>();
        claimed.put("name", r.requester().clientName());
        claimed.put("version", r.requester().clientVersion());
        claimed.put("pid", r.requester().claimedPid());
        m.put("claimed", claimed);
        List<Object> overrides = new ArrayList<>();
        for (ChildEnvironment.Change c : res.environment().changes()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("name", c.name());
            o.put("value", c.value());
            o.put("risk", c.risk() != null);
            if (c.risk() != null) {
                o.put("why", c.risk());
            }
            overrides.add(o);
        }
        m.put("overrides", overrides);
        m.put("override_count", overrides.size());
        m.put("masking", q.masking());
        m.put("stdin", q.forwardStdin());
        m.put("timeout_ms", q.timeoutMs());
        m.put("approval_timeout_ms", approvalTimeout.toMillis());
        List<String> risks = new ArrayList<>(risks(r));
        if (!launcher.contained()) {
            risks.add(0, launcher.description());
        } else if (r.hostFileSystem()) {
            risks.add(0, "run profile host: the command sees and may change all of the user's files (start-up"
                    + " files, hooks, credential stores)");
        }
        m.put("contained", launcher.contained());
        m.put("risks", risks);
        m.put("requested_at", r.requestedAt().toString());
        m.put("request_hash", r.requestHash());
        m.put("code", r.code());
        return m;
    }

    /** The request's risk lines: hints about argv, and facts about what runs and how. */
    static List<String> risks(Run r) {
        RunRequest q = r.request();
        Run.Resolved res = r.resolved();
        List<String> out = new ArrayList<>();
        // masking off and risky environment changes are facts of their own in the description
        List<String> argv = RiskHints.unwrap(q.argv());
        if (argv.isEmpty()) {
            argv = q.argv();
        }
        String program = base(argv.get(0));
        // a #! script is itself the program its interpreter reads
        boolean script = res.executable().interpreter() != null;
        if (q.forwardStdin() && !script && readsProgramFromStdin(program, argv)) {
            out.add("stdin is attached and " + program + " reads its program from it: runs code nobody sees");
        }
        Path editable = res.executable().editable();
        if (editable != null) {
            out.add("runs code the requester can edit (" + editable + ")");
        }
        Executable inner = res.executable().interpreter();
        if (inner != null && inner.interpreter() != null) {
            List<String> chain = new ArrayList<>();
            for (Executable e = inner.interpreter(); e != null; e = e.interpreter()) {
                chain.add(e.path().toString());
            }
            out.add("its interpreter " + inner.path() + " is a #! script too, run by " + String.join(", then ", chain));
        }
        List<String> operands = res.executable().interpreterOperands();
        if (!operands.isEmpty()) {
            out.add("its #! line hands the interpreter " + String.join(" ", operands)
                    + ": code that names is not checked, only the script and the interpreter are");
        }
        if (!argv.isEmpty() && CONTAINERS.contains(base(argv.get(0)))) {
            out.add(base(argv.get(0)) + ": containers or services it starts keep the values outside any"
                    + " containment, after the run ends");
        }
        out.addAll(RiskHints.of(q.argv(), r.valueInArgv()));
        return out;
    }

    /** A shell with no script operand (or {@code -s}), an interpreter with none (or {@code -}). */
    static boolean readsProgramFromStdin(String program, List<String> argv) {
        boolean shell = SHELL.matcher(program).matches();
        if (!shell && !INTERPRETER.matcher(program).matches()) {
            return false;
        }
        int start = program.equals("busybox") && argv.size() > 1 ? 2 : 1;
        for (int i = start; i < argv.size(); i++) {
            String a = argv.get(i);
            if (a.equals("-")) {
                return true;
            }
            if (shell && a.startsWith("-") && !a.startsWith("--") && a.contains("s")) {
                return true;
            }
            if (shell && a.startsWith("-") && a.contains("c") && !a.startsWith("--")) {
                return false;
            }
            if (!shell && (a.equals("-c") || a.equals("-e") || a.equals("-E") || a.equals("--eval")
                    || a.equals("-p") || a.equals("--print") || a.equals("-m") || a.equals("-r"))) {
                return false;
            }
            if (!a.startsWith("-")) {
                return false;   // a script file
            }
        }
        return true;
    }

    private static String base(String path) {
        return Path.of(path).getFileName().toString();
    }
}

package dev.brokerctl.daemon;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.vault.Names;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a requester asks to run. {@code variables == null} means every variable of the
 * environment; {@code refs} are extra injections from an env-file template
 * ({@code NAME=broker://ENV/VARIABLE}). {@code baseEnvironment} is the requester's own
 * environment, which the child inherits; it is never logged.
 */
record RunRequest(String environment, List<String> argv, String cwd, Map<String, String> baseEnvironment,
        List<String> variables, List<Ref> refs, String reason, long timeoutMs, boolean masking,
        boolean forwardStdin) {

    /** Injects {@code environment/variable} as {@code name}. */
    record Ref(String name, String environment, String variable) {
    }

    static RunRequest from(Message m) throws BrokerException {
        String environment = m.string("environment");
        if (!Names.isEnvironment(environment)) {
            throw invalid("invalid environment name '" + environment + "'");
        }
        List<String> argv = m.strings("argv");
        if (argv == null || argv.isEmpty() || argv.get(0).isEmpty()) {
            throw invalid("the command is empty; give it after --, e.g. brokerctl run --env dev -- npm test");
        }
        for (String a : argv) {
            if (a.indexOf('\0') >= 0) {
                throw invalid("an argument contains a NUL byte");
            }
        }
        String cwd = m.string("cwd");
        if (!cwd.startsWith("/")) {
            throw invalid("cwd must be an absolute path");
        }
        Map<String, String> base = m.stringMap("env");
        if (base == null) {
            base = Map.of();
        }
        List<String> variables = m.strings("variables");
        if (variables != null) {
            for (String v : variables) {
                if (!Names.isVariable(v)) {
                    throw invalid("invalid variable name '" + v + "'");
                }
            }
        }
        List<Ref> refs = new ArrayList<>();
        for (Message r : m.messages("refs")) {
            Ref ref = new Ref(r.string("name"), r.string("environment"), r.string("variable"));
            if (!Names.isVariable(ref.name()) || !Names.isVariable(ref.variable())
                    || !Names.isEnvironment(ref.environment())) {
                throw invalid("invalid reference " + ref.name() + "=broker://" + ref.environment() + "/"
                        + ref.variable());
            }
            refs.add(ref);
        }
        long timeoutMs = m.number("timeout_ms", 0);
        if (timeoutMs < 0) {
            throw invalid("timeout_ms must not be negative");
        }
        return new RunRequest(environment, List.copyOf(argv), cwd, base, variables, List.copyOf(refs),
                m.string("reason", ""), timeoutMs, m.bool("masking", true), m.bool("stdin", false));
    }

    /** Every environment whose policy governs this run. */
    List<String> environments() {
        List<String> out = new ArrayList<>();
        out.add(environment);
        for (Ref r : refs) {
            if (!out.contains(r.environment())) {
                out.add(r.environment());
            }
        }
        return out;
    }

    /** Names of the variables that will be injected, as the child sees them. */
    List<String> injectedNames(List<String> allOfEnvironment) {
        List<String> out = new ArrayList<>(variables != null ? variables : allOfEnvironment);
        for (Ref r : refs) {
            if (!out.contains(r.name())) {
                out.add(r.name());
            }
        }
        return out;
    }

    private static BrokerException invalid(String message) {
        return new BrokerException(ErrorCode.INVALID, message);
    }

    /** The base environment may hold the user's own credentials: print names and sizes only. */
    @Override
    public String toString() {
        return "RunRequest[" + environment + ", argv[0]=" + argv.get(0) + " +" + (argv.size() - 1)
                + " args, " + (variables == null ? "all" : variables.size()) + " variables, "
                + refs.size() + " refs]";
    }
}

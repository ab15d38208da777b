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

    /** Documented limits (docs/architecture.md): past one, the requester gets an error before anyone is asked. */
    static final int MAX_ARGV = 1024;
    static final int MAX_ARG_CHARS = 16 * 1024;
    static final int MAX_VARIABLES = 1024;
    static final int MAX_REFS = 256;
    static final int MAX_ENV = 2048;
    static final int MAX_ENV_NAME_CHARS = 256;
    static final int MAX_REASON_CHARS = 2000;
    static final int MAX_CWD_CHARS = 4096;

    static RunRequest from(Message m) throws BrokerException {
        String environment = m.string("environment");
        if (!Names.isEnvironment(environment)) {
            throw invalid("invalid environment name '" + environment + "'");
        }
        List<String> argv = m.strings("argv");
        if (argv == null || argv.isEmpty() || argv.get(0).isEmpty()) {
            throw invalid("the command is empty; give it after --, e.g. brokerctl run --env dev -- npm test");
        }
        if (argv.size() > MAX_ARGV) {
            throw invalid("the command has " + argv.size() + " arguments; the limit is " + MAX_ARGV);
        }
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            if (a.indexOf('\0') >= 0) {
                throw invalid("argument " + i + " contains a NUL byte");
            }
            if (a.length() > MAX_ARG_CHARS) {
                throw invalid("argument " + i + " has " + a.length() + " characters; the limit is " + MAX_ARG_CHARS);
            }
        }
        String cwd = m.string("cwd");
        if (cwd == null || !cwd.startsWith("/") || cwd.indexOf('\0') >= 0 || cwd.length() > MAX_CWD_CHARS) {
            throw invalid("cwd must be an absolute path of at most " + MAX_CWD_CHARS + " characters, without NUL");
        }
        Map<String, String> base = m.stringMap("env");
        if (base == null) {
            base = Map.of();
        }
        checkEnvironment(base);
        String reason = m.string("reason", "");
        if (reason.length() > MAX_REASON_CHARS) {
            throw invalid("the reason has " + reason.length() + " characters; the limit is " + MAX_REASON_CHARS);
        }
        List<String> variables = m.strings("variables");
        if (variables != null) {
            if (variables.size() > MAX_VARIABLES) {
                throw invalid(variables.size() + " variables asked for; the limit is " + MAX_VARIABLES);
            }
            for (String v : variables) {
                if (!Names.isVariable(v)) {
                    throw invalid("invalid variable name '" + v + "'");
                }
            }
        }
        List<Ref> refs = new ArrayList<>();
        List<Message> refMessages = m.messages("refs");
        if (refMessages.size() > MAX_REFS) {
            throw invalid(refMessages.size() + " references; the limit is " + MAX_REFS);
        }
        for (Message r : refMessages) {
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
                reason, timeoutMs, m.bool("masking", true), m.bool("stdin", false));
    }

    /** Names and values an environment can hold; nothing of a value goes into the message. */
    private static void checkEnvironment(Map<String, String> env) throws BrokerException {
        if (env.size() > MAX_ENV) {
            throw invalid("the environment has " + env.size() + " variables; the limit is " + MAX_ENV);
        }
        for (Map.Entry<String, String> e : env.entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || name.length() > MAX_ENV_NAME_CHARS || name.indexOf('=') >= 0
                    || name.indexOf('\0') >= 0) {
                throw invalid("an environment variable name is empty, longer than " + MAX_ENV_NAME_CHARS
                        + " characters, or contains '=' or NUL (" + name.length() + " characters)");
            }
            if (e.getValue() == null || e.getValue().indexOf('\0') >= 0) {
                throw invalid("the value of environment variable " + (Names.isVariable(name) ? name : "#"
                        + name.length()) + " contains a NUL byte");
            }
        }
    }

    /** This request with {@code names} as its variables (a human narrowed a request for all). */
    RunRequest withVariables(List<String> names) {
        return new RunRequest(environment, argv, cwd, baseEnvironment, List.copyOf(names), refs, reason, timeoutMs,
                masking, forwardStdin);
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
        return "RunRequest[" + environment + ", argv[0]=" + Log.safe(argv.get(0)) + " +" + (argv.size() - 1)
                + " args, " + (variables == null ? "all" : variables.size()) + " variables, "
                + refs.size() + " refs]";
    }
}

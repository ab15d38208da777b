package dev.brokerctl.daemon;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The environment an approved command starts with, before the vault's values are added. Its
 * base is the daemon's own environment, captured when the human started it; what a requester
 * sends is an override of that base, each one listed with the request, and those that change how
 * programs find or load code are risks. A denylist of "dangerous" variables never ends, so the
 * requester cannot remove anything from the base and everything it changes is shown.
 *
 * <p>Shell bookkeeping ({@link #VOLATILE}) is dropped, so the same shell asking twice is the
 * same request (and a grant still matches), and PWD is the run's own cwd.
 */
final class ChildEnvironment {

    /** One variable the requester adds or changes; {@code risk} is null when it is not one. */
    record Change(String name, String value, String risk) {
        @Override
        public String toString() {
            return "Change[" + name + (risk == null ? "" : ", risk") + "]";   // a value may be the user's credential
        }
    }

    /** Set by shells per prompt or per terminal, never a choice of the requester. */
    static final Set<String> VOLATILE = Set.of("_", "OLDPWD", "PWD", "SHLVL", "COLUMNS", "LINES",
            "TERM_SESSION_ID", "WINDOWID", "HISTCMD", "PPID", "RANDOM", "SECONDS", "LINENO");

    /** Where a command learns the passphrase: never passed on, from base or requester. */
    static final Set<String> WITHHELD = Set.of("BROKERCTL_PASSPHRASE_FILE", "BROKERCTL_NEW_PASSPHRASE_FILE");

    private static final Pattern LOADS_CODE = Pattern.compile(
            "LD_.*|DYLD_.*|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|PS4|IFS|BASH_FUNC_.*|PROMPT_COMMAND"
                    + "|NODE_OPTIONS|NODE_PATH|NODE_EXTRA_CA_CERTS|NODE_TLS_REJECT_UNAUTHORIZED"
                    + "|PYTHONPATH|PYTHONSTARTUP|PYTHONHOME|PYTHONUSERBASE|PYTHONINSPECT|PYTHONWARNINGS"
                    + "|PERL5OPT|PERL5LIB|PERLLIB|RUBYOPT|RUBYLIB|GEM_PATH|GEM_HOME"
                    + "|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|CLASSPATH|JAVA_HOME"
                    + "|GIT_.*|GCONV_PATH|GLIBC_TUNABLES|MALLOC_.*|LOCPATH|NLSPATH|HOSTALIASES|RESOLV_HOST_CONF"
                    + "|NPM_CONFIG_.*|YARN_.*|PIP_.*|CARGO_.*|RUSTC_WRAPPER|GOFLAGS|GOPROXY|EDITOR|VISUAL|PAGER"
                    + "|SSH_ASKPASS|SUDO_ASKPASS|HOME|XDG_CONFIG_HOME|XDG_DATA_HOME|TMPDIR");
    private static final Pattern NETWORK = Pattern.compile(
            "(HTTPS?|FTP|ALL|NO|SOCKS)_PROXY|SSL_CERT_(FILE|DIR)|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|CURL_HOME"
                    + "|AWS_CA_BUNDLE|WGETRC");

    private final Map<String, String> variables;
    private final List<Change> changes;

    private ChildEnvironment(Map<String, String> variables, List<Change> changes) {
        this.variables = variables;
        this.changes = changes;
    }

    /**
     * @param base the daemon's environment
     * @param requested what the requester sent (its own environment, or only what it wants changed)
     */
    static ChildEnvironment of(Map<String, String> base, Map<String, String> requested, Path cwd) {
        TreeMap<String, String> env = new TreeMap<>(base);
        List<Change> changes = new ArrayList<>();
        for (Map.Entry<String, String> e : new TreeMap<>(requested).entrySet()) {
            String name = e.getKey();
            if (VOLATILE.contains(name) || WITHHELD.contains(name) || e.getValue().equals(base.get(name))) {
                continue;
            }
            env.put(name, e.getValue());
            changes.add(new Change(name, e.getValue(), risk(name, e.getValue())));
        }
        WITHHELD.forEach(env::remove);
        VOLATILE.forEach(env::remove);
        env.put("PWD", cwd.toString());
        return new ChildEnvironment(java.util.Collections.unmodifiableMap(env), List.copyOf(changes));
    }

    /** The whole environment, sorted (for the child, and for the request identity). */
    Map<String, String> variables() {
        return variables;
    }

    /** What the requester added or changed, sorted by name. */
    List<Change> changes() {
        return changes;
    }

    static String risk(String name, String value) {
        String upper = name.toUpperCase(Locale.ROOT);
        if (upper.equals("PATH")) {
            List<String> writable = new ArrayList<>();
            for (String dir : value.split(":", -1)) {
                if (dir.isEmpty() || !dir.startsWith("/")) {
                    writable.add(dir.isEmpty() ? "(empty: the cwd)" : dir + " (relative)");
                } else if (Executable.writable(Path.of(dir))) {
                    writable.add(dir);
                }
            }
            return writable.isEmpty() ? null
                    : "PATH has directories the requester can write: " + String.join(", ", writable);
        }
        if (LOADS_CODE.matcher(upper).matches()) {
            return "changes how programs find or load code";
        }
        if (NETWORK.matcher(upper).matches()) {
            return "changes where network traffic goes or which certificates are trusted";
        }
        return null;
    }

    @Override
    public String toString() {
        return "ChildEnvironment[" + variables.size() + " variables, " + changes.size() + " changed]";
    }
}

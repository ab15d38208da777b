package dev.brokerctl.approval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Warnings shown with a request: what in the command could move a value somewhere it should not
 * go. Heuristics over argv (and inline code in it), not a guarantee: an innocent command may
 * trigger one, a hostile one may avoid them all.
 */
public final class RiskHints {

    private static final Pattern PRINTS_ENV = Pattern.compile(
            "(^|[\\s;|&(`$/])(env|printenv|set|export\\s+-p|declare\\s+-x|compgen\\s+-e)(\\s|$|[;|&)])"
                    + "|/proc/(self|\\$\\$|\\d+)/environ|os\\.environ|process\\.env|getenv|ENV\\[|%ENV");
    private static final Pattern NETWORK = Pattern.compile(
            "(^|[\\s;|&(`$/])(curl|wget|nc|ncat|netcat|socat|ssh|scp|sftp|rsync|ftp|telnet|aws\\s+s3|gsutil)"
                    + "(\\s|$|[;|&)])|https?://|/dev/tcp/|/dev/udp/");
    private static final Pattern ENCODES = Pattern.compile(
            "(^|[\\s;|&(`$/])(base64|base32|xxd|od|hexdump|openssl|gpg|gzip|bzip2|xz|zstd|uuencode|rev|tr)"
                    + "(\\s|$|[;|&)])|b64encode|btoa\\(|Buffer\\.from|encode\\(");
    private static final Pattern SHELL = Pattern.compile("(.*/)?(sh|bash|zsh|dash|ksh|mksh|fish|ash)");
    private static final Pattern INTERPRETER = Pattern.compile(
            "(.*/)?(python[0-9.]*|node|nodejs|deno|bun|perl[0-9.]*|ruby[0-9.]*|php[0-9.]*|lua[0-9.]*|osascript|pwsh|powershell|tclsh)");
    private static final Pattern AWK = Pattern.compile("(.*/)?(awk|gawk|mawk|nawk)");
    /** Options that take inline code as their argument, per interpreter family (combined short flags too). */
    private static final java.util.Map<Pattern, Pattern> CODE_FLAGS = java.util.Map.of(
            Pattern.compile("python[0-9.]*"), Pattern.compile("-[a-zA-Z]*c"),
            Pattern.compile("perl[0-9.]*|ruby[0-9.]*"), Pattern.compile("-[a-zA-Z]*[eE]"),
            Pattern.compile("node|nodejs|deno|bun"), Pattern.compile("-p?e|-p|--eval|--print"),
            Pattern.compile("php[0-9.]*"), Pattern.compile("-r"),
            Pattern.compile("lua[0-9.]*|osascript"), Pattern.compile("-e"),
            Pattern.compile("pwsh|powershell"), Pattern.compile("(?i)-c|-command"));
    private static final Pattern WRITES_FILE = Pattern.compile("(^|[^0-9&>])>>?(?!\\s*/dev/(null|stdout|stderr)\\b)\\s*[^&\\s>|]|\\btee\\b|open\\([^)]*['\"][wa]");
    private static final Pattern EXIT_STATUS = Pattern.compile("\\bexit\\s+\"?\\$[({]|process\\.exit\\(|sys\\.exit\\(|\\bexit\\(");
    private static final Pattern AWK_ENV = Pattern.compile("ENVIRON");

    private RiskHints() {
    }

    /**
     * @param valueInArgv names of variables whose value the daemon found verbatim in argv
     */
    public static List<String> of(List<String> argv, List<String> valueInArgv) {
        List<String> hints = new ArrayList<>();
        String joined = String.join(" ", argv);
        Inline inline = inlineCode(argv);
        if (inline != null) {
            hints.add("runs an interpreter with inline code (" + inline.how() + ")");
            if (WRITES_FILE.matcher(inline.code()).find()) {
                hints.add("its inline code writes to a file (>, tee, open(..., 'w')): a value can land on disk");
            }
            if (EXIT_STATUS.matcher(inline.code()).find()) {
                hints.add("its inline code sets the exit status from computed data: a value can leave through"
                        + " the exit code");
            }
        }
        if (PRINTS_ENV.matcher(joined).find()) {
            hints.add("may print its environment (env, printenv, set, /proc/*/environ, ...)");
        }
        if (NETWORK.matcher(joined).find()) {
            hints.add("talks to the network (curl, wget, nc, ssh, a URL, ...)");
        }
        if (ENCODES.matcher(joined).find()) {
            hints.add("encodes or compresses data (base64, xxd, openssl, gzip, ...): masking may miss it");
        }
        if (valueInArgv != null && !valueInArgv.isEmpty()) {
            hints.add("the value of " + String.join(", ", valueInArgv)
                    + " appears literally in the command line (visible in ps)");
        }
        return hints;
    }

    private static final java.util.Set<String> WRAPPERS = java.util.Set.of("env", "nice", "nohup", "exec", "command",
            "sudo", "doas", "busybox", "timeout", "setsid", "stdbuf", "ionice", "time");
    /** Wrapper options whose value is the next argument. */
    private static final java.util.Set<String> WITH_VALUE = java.util.Set.of("-n", "-u", "-s", "-k", "-C", "-g",
            "--user", "--group", "--chdir", "--signal", "--kill-after", "--adjustment", "--unset");

    /**
     * argv without the wrappers in front of the real program ({@code env A=1}, {@code nice -n 5},
     * {@code timeout 5}, {@code sudo -u x}, {@code busybox}, ...): what a hint should look at.
     */
    public static List<String> unwrap(List<String> argv) {
        int i = 0;
        while (i < argv.size() && WRAPPERS.contains(base(argv.get(i)))) {
            boolean timeout = base(argv.get(i)).equals("timeout");
            i++;
            while (i < argv.size() && (argv.get(i).startsWith("-") || argv.get(i).contains("="))) {
                i += WITH_VALUE.contains(argv.get(i)) ? 2 : 1;
            }
            if (timeout && i < argv.size()) {
                i++;   // the duration
            }
        }
        return i == 0 ? argv : argv.subList(Math.min(i, argv.size()), argv.size());
    }

    /** Inline code and how it is passed ({@code sh -e -c}), or null. */
    record Inline(String how, String code) {
    }

    /**
     * Finds inline code wherever the flag stands among the options, behind {@code env},
     * {@code nice}, {@code nohup}, {@code timeout N}, {@code exec}, {@code command} and
     * {@code busybox}.
     */
    static Inline inlineCode(List<String> all) {
        List<String> argv = unwrap(all);
        int i = 0;
        if (argv.isEmpty()) {
            return null;
        }
        String program = argv.get(i);
        String name = base(program);
        if (AWK.matcher(program).matches()) {
            for (int j = i + 1; j < argv.size(); j++) {
                String a = argv.get(j);
                if (a.equals("-f")) {
                    return null;   // the program is in a file
                }
                if (!a.startsWith("-")) {
                    return AWK_ENV.matcher(a).find() ? new Inline(name + ", reading ENVIRON", a) : new Inline(name, a);
                }
                if (a.equals("-v") || a.equals("-F")) {
                    j++;
                }
            }
            return null;
        }
        boolean shell = SHELL.matcher(program).matches();
        if (!shell && !INTERPRETER.matcher(program).matches()) {
            return null;
        }
        List<String> flags = new ArrayList<>();
        for (int j = i + 1; j < argv.size(); j++) {
            String a = argv.get(j);
            if (!a.startsWith("-")) {
                return null;   // a script file comes first: no inline code
            }
            flags.add(a);
            boolean code = shell ? a.startsWith("-") && !a.startsWith("--") && a.indexOf('c') > 0 : codeFlag(name, a);
            if (code) {
                String body = j + 1 < argv.size() ? argv.get(j + 1) : "";
                return new Inline(name + " " + String.join(" ", flags), body);
            }
        }
        return null;
    }

    private static boolean codeFlag(String interpreter, String option) {
        for (java.util.Map.Entry<Pattern, Pattern> e : CODE_FLAGS.entrySet()) {
            if (e.getKey().matcher(interpreter).matches()) {
                return e.getValue().matcher(option).matches();
            }
        }
        return false;
    }

    private static String base(String path) {
        return path.substring(path.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
    }
}

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
    private static final Pattern SHELL = Pattern.compile("(.*/)?(sh|bash|zsh|dash|ksh|fish|ash|busybox)");
    private static final Pattern INTERPRETER = Pattern.compile(
            "(.*/)?(python[0-9.]*|node|nodejs|deno|bun|perl|ruby|php|lua|osascript|pwsh|powershell)");

    private RiskHints() {
    }

    /**
     * @param valueInArgv names of variables whose value the daemon found verbatim in argv
     */
    public static List<String> of(List<String> argv, List<String> valueInArgv) {
        List<String> hints = new ArrayList<>();
        String joined = String.join(" ", argv);
        String program = argv.isEmpty() ? "" : argv.get(0);
        if (inlineCode(argv, program)) {
            hints.add("runs an interpreter with inline code (" + program.substring(program.lastIndexOf('/') + 1)
                    + " " + argv.get(1) + ")");
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

    private static boolean inlineCode(List<String> argv, String program) {
        if (argv.size() < 2) {
            return false;
        }
        String flag = argv.get(1).toLowerCase(Locale.ROOT);
        if (SHELL.matcher(program).matches()) {
            return flag.startsWith("-") && flag.contains("c");
        }
        if (INTERPRETER.matcher(program).matches()) {
            return flag.equals("-c") || flag.equals("-e") || flag.equals("--eval") || flag.equals("-r")
                    || flag.equals("-p") || flag.equals("eval") || flag.equals("-command");
        }
        return false;
    }
}

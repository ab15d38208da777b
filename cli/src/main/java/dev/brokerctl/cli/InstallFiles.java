package dev.brokerctl.cli;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * The files {@code bin/install.sh} writes beside the jars, made from the same picocli model as
 * {@code --help}, so they cannot drift from it: shell completion for bash (picocli's
 * {@link AutoComplete}), zsh (the bash script through zsh's {@code bashcompinit}) and fish, and a
 * man page in roff. Not a brokerctl command: {@code java -cp brokerctl.jar
 * dev.brokerctl.cli.InstallFiles bash|zsh BASH_SCRIPT|fish|man}, on stdout.
 *
 * <p>picocli's own {@code ManPageGenerator} (picocli-codegen) writes AsciiDoc, which needs
 * asciidoctor to become a page {@code man} can show; this writes roff directly.
 */
public final class InstallFiles {

    private InstallFiles() {
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        String what = args.length > 0 ? args[0] : "";
        switch (what) {
            case "bash" -> out.print(bash());
            case "zsh" -> {
                if (args.length != 2) {
                    usage();
                }
                out.print(zsh(args[1]));
            }
            case "fish" -> out.print(fish(Main.commandLine()));
            case "man" -> out.print(man(Main.commandLine()));
            default -> usage();
        }
        out.flush();
    }

    private static void usage() {
        System.err.println("usage: InstallFiles bash | zsh BASH_COMPLETION_FILE | fish | man");
        System.exit(ExitCodes.USAGE);
    }

    static String bash() {
        return AutoComplete.bash("brokerctl", Main.commandLine());
    }

    /**
     * A zsh completion function ({@code site-functions/_brokerctl}) that loads the bash one through
     * {@code bashcompinit} the first time it is asked, then completes as it would.
     */
    static String zsh(String bashScript) {
        return "#compdef brokerctl\n"
                + "# brokerctl's bash completion (picocli), through zsh's bashcompinit. Written by bin/install.sh.\n"
                + "autoload -U +X bashcompinit && bashcompinit\n"
                + "# bash's compopt (file name quoting) has no zsh counterpart that bashcompinit provides\n"
                + "(( $+functions[compopt] )) || compopt() { return 0; }\n"
                + "source " + singleQuoted(bashScript) + "\n"
                + "_bash_complete -F _complete_brokerctl \"$@\"\n";
    }

    // ------------------------------------------------------------------ fish

    static String fish(CommandLine root) {
        StringBuilder b = new StringBuilder();
        b.append("# fish completion for brokerctl, made from its picocli model by bin/install.sh\n");
        b.append("complete -c brokerctl -f\n");
        for (OptionSpec o : visibleOptions(root.getCommandSpec())) {
            b.append(fishOption("__fish_use_subcommand", o));
        }
        for (CommandLine sub : subcommands(root)) {
            String name = sub.getCommandName();
            b.append("complete -c brokerctl -n '__fish_use_subcommand' -a ").append(fishQuoted(name))
                    .append(" -d ").append(fishQuoted(summary(sub.getCommandSpec()))).append('\n');
            String inSub = "__fish_seen_subcommand_from " + name;
            List<CommandLine> nested = subcommands(sub);
            for (CommandLine n : nested) {
                b.append("complete -c brokerctl -n ").append(fishQuoted(inSub + "; and not __fish_seen_subcommand_from "
                        + String.join(" ", nested.stream().map(CommandLine::getCommandName).toList())))
                        .append(" -a ").append(fishQuoted(n.getCommandName()))
                        .append(" -d ").append(fishQuoted(summary(n.getCommandSpec()))).append('\n');
                for (OptionSpec o : visibleOptions(n.getCommandSpec())) {
                    b.append(fishOption(inSub + "; and __fish_seen_subcommand_from " + n.getCommandName(), o));
                }
            }
            for (OptionSpec o : visibleOptions(sub.getCommandSpec())) {
                b.append(fishOption(inSub, o));
            }
            if (takesFiles(sub.getCommandSpec())) {
                b.append("complete -c brokerctl -n ").append(fishQuoted(inSub)).append(" -F\n");
            }
        }
        return b.toString();
    }

    private static String fishOption(String condition, OptionSpec o) {
        StringBuilder b = new StringBuilder("complete -c brokerctl -n ").append(fishQuoted(condition));
        for (String n : o.names()) {
            if (n.startsWith("--")) {
                b.append(" -l ").append(n.substring(2));
            } else if (n.startsWith("-") && n.length() == 2) {
                b.append(" -s ").append(n.substring(1));
            }
        }
        if (o.arity().max() > 0) {
            b.append(" -r");
            if (o.completionCandidates() != null) {
                List<String> values = new ArrayList<>();
                o.completionCandidates().forEach(values::add);
                b.append(" -a ").append(fishQuoted(String.join(" ", values)));
            }
        }
        String d = firstSentence(o.description());
        if (!d.isEmpty()) {
            b.append(" -d ").append(fishQuoted(d));
        }
        return b.append('\n').toString();
    }

    private static boolean takesFiles(CommandSpec spec) {
        for (PositionalParamSpec p : spec.positionalParameters()) {
            if (p.type() == java.nio.file.Path.class || p.type() == java.io.File.class
                    || p.paramLabel().contains("CMD") || p.paramLabel().contains("FILE")) {
                return true;
            }
        }
        return spec.name().equals("run") || spec.name().equals("sandbox");
    }

    private static String fishQuoted(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    private static String singleQuoted(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    // ------------------------------------------------------------------ man

    /** brokerctl(1): every command with its synopsis, description and options, then exit status and files. */
    static String man(CommandLine root) {
        CommandSpec spec = root.getCommandSpec();
        StringBuilder b = new StringBuilder();
        b.append(".\\\" brokerctl(1), made from the picocli model of brokerctl ").append(RunMain.version())
                .append(" by bin/install.sh\n");
        b.append(".TH BROKERCTL 1 \"\" \"brokerctl ").append(roff(RunMain.version())).append("\" \"User Commands\"\n");
        b.append(".SH NAME\n").append("brokerctl \\- ").append(roff(lowerFirst(stripDot(summary(spec))))).append('\n');
        b.append(".SH SYNOPSIS\n.B brokerctl\n.RI [ options ] \" COMMAND \" [ args ]\n");
        b.append(".SH DESCRIPTION\n");
        b.append(roff("brokerctl keeps credentials in an encrypted vault. Coding agents see variable names only and ask"
                + " for commands to run with them; a human approves each use, and the daemon injects the values into"
                + " the approved process and masks them in its output. There is no command that prints a value.")).append('\n');
        b.append(".SH OPTIONS\n");
        for (OptionSpec o : visibleOptions(spec)) {
            option(b, o);
        }
        b.append(".SH COMMANDS\n");
        for (CommandLine sub : subcommands(root)) {
            command(b, sub, "brokerctl ");
        }
        b.append(".SH EXIT STATUS\n");
        b.append(".TP\n.B 0\nSuccess.\n.TP\n.B 1\nFailure: the message says what to do.\n.TP\n.B 2\nA usage error.\n");
        b.append(".PP\n").append(roff("brokerctl run exits with its command's code, 128+N for signal N, 124 on"
                + " timeout, 125 for a broker failure, 126 not executable, 127 not found, 1 denied. brokerctl daemon in"
                + " the foreground: 0 after brokerctl stop, 1 when it cannot start, 128+N on signal N (130 for Ctrl-C)."
                + " brokerctl approve: 0 after Ctrl-D, 1 when the daemon stopped.")).append('\n');
        b.append(".SH ENVIRONMENT\n");
        env(b, "BROKERCTL_HOME", "The home folder (vault, log); default $XDG_DATA_HOME/brokerctl, else ~/.local/share/brokerctl.");
        env(b, "BROKERCTL_SOCKET", "The daemon's socket; default $XDG_RUNTIME_DIR/brokerctl/brokerd.sock, or"
                + " $BROKERCTL_HOME/run/brokerd.sock.");
        env(b, "BROKERCTL_PASSPHRASE_FILE", "A file whose first line is the passphrase, for scripts. Never where a"
                + " coding agent can read it.");
        env(b, "BROKERCTL_NEW_PASSPHRASE_FILE", "The new passphrase for brokerctl passwd in scripts.");
        env(b, "BROKERCTL_JAVA_OPTS", "Extra JVM flags for the launcher, split at blanks.");
        env(b, "BROKERCTL_DEBUG", "When set, errors also print their stack trace.");
        b.append(".SH FILES\n");
        env(b, "$BROKERCTL_HOME/vault.db", "The vault (SQLite, mode 0600).");
        env(b, "$BROKERCTL_HOME/brokerd.log", "The daemon's log. Never values.");
        b.append(".SH SEE ALSO\n").append(roff("brokerctl COMMAND --help; the README and docs/ of the brokerctl"
                + " sources (architecture, threat model, MCP client set-up).")).append('\n');
        return b.toString();
    }

    private static void command(StringBuilder b, CommandLine cl, String prefix) {
        CommandSpec spec = cl.getCommandSpec();
        List<CommandLine> nested = subcommands(cl);
        if (!nested.isEmpty()) {
            for (CommandLine n : nested) {
                command(b, n, prefix + cl.getCommandName() + " ");
            }
            return;
        }
        CommandLine.Help help = new CommandLine.Help(spec, CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
        String synopsis = help.synopsis(0).strip().replaceAll("\\s+", " ");
        synopsis = synopsis.startsWith("Usage: ") ? synopsis.substring(7) : synopsis;
        b.append(".SS ").append(roff(prefix + cl.getCommandName())).append('\n');
        b.append(".nf\n.B ").append(roff(synopsis)).append("\n.fi\n");
        for (String line : spec.usageMessage().description()) {
            b.append(".PP\n").append(roff(text(line))).append('\n');
        }
        for (PositionalParamSpec p : spec.positionalParameters()) {
            if (!p.hidden() && p.description().length > 0) {
                b.append(".TP\n.I ").append(roff(p.paramLabel())).append('\n')
                        .append(roff(text(String.join(" ", p.description())))).append('\n');
            }
        }
        for (OptionSpec o : visibleOptions(spec)) {
            if (!o.longestName().equals("--help") && !o.longestName().equals("--version")) {
                option(b, o);
            }
        }
    }

    private static void option(StringBuilder b, OptionSpec o) {
        b.append(".TP\n\\fB").append(roff(String.join(", ", o.names()))).append("\\fR");
        if (o.arity().max() > 0) {
            b.append(" \\fI").append(roff(o.paramLabel())).append("\\fR");
        }
        b.append('\n').append(roff(text(String.join(" ", o.description()).replace("${DEFAULT-VALUE}",
                String.valueOf(o.defaultValue()))))).append('\n');
    }

    private static void env(StringBuilder b, String name, String text) {
        b.append(".TP\n.B ").append(roff(name)).append('\n').append(roff(text)).append('\n');
    }

    /** picocli's markup out of a description line: {@code %n} and {@code $$}. */
    private static String text(String s) {
        return s.replace("%n", " ").replace("$${", "${").strip();
    }

    /** Text for roff: backslashes and hyphens escaped, no line that starts a request. */
    static String roff(String s) {
        String escaped = s.replace("\\", "\\e").replace("-", "\\-");
        StringBuilder b = new StringBuilder();
        for (String line : escaped.split("\n", -1)) {
            if (b.length() > 0) {
                b.append('\n');
            }
            if (line.startsWith(".") || line.startsWith("'")) {
                b.append("\\&");
            }
            b.append(line);
        }
        return b.toString();
    }

    // ------------------------------------------------------------------ the model

    private static List<CommandLine> subcommands(CommandLine cl) {
        List<CommandLine> out = new ArrayList<>();
        for (CommandLine sub : cl.getSubcommands().values()) {
            if (sub.getParent() == cl && !sub.getCommandSpec().usageMessage().hidden() && !out.contains(sub)) {
                out.add(sub);
            }
        }
        return out;
    }

    private static List<OptionSpec> visibleOptions(CommandSpec spec) {
        return spec.options().stream().filter(o -> !o.hidden()).toList();
    }

    private static String summary(CommandSpec spec) {
        String[] d = spec.usageMessage().description();
        return d.length == 0 ? "" : firstSentence(d);
    }

    private static String firstSentence(String[] description) {
        if (description.length == 0) {
            return "";
        }
        String s = text(description[0]);
        int end = s.indexOf(". ");
        return end < 0 ? s : s.substring(0, end + 1);
    }

    private static String stripDot(String s) {
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    private static String lowerFirst(String s) {
        return s.isEmpty() ? s : s.substring(0, 1).toLowerCase(Locale.ROOT) + s.substring(1);
    }
}

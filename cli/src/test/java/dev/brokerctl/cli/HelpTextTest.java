package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Every subcommand's {@code --help}, rendered as a user sees it (80 columns), reads well: no
 * picocli warning, no "null" (an unescaped {@code ${VAR}} picocli took for one of its variables),
 * no word cut by a line break, and each description line a whole sentence (picocli prints every
 * element of a description on a line of its own and the first as the summary in the parent's list).
 */
class HelpTextTest {

    /**
     * Owned by other work in progress (their files are not edited here): known to break a sentence
     * across description elements. Remove a name once its description is fixed; the test then
     * covers it.
     */
    static final Set<String> PENDING = Set.of();

    private static final Pattern SENTENCE_END = Pattern.compile(".*[.!?:]\\)?$");

    @Test
    void everySubcommandsHelp_readsWell() {
        List<String> problems = new ArrayList<>();
        walk(Main.commandLine(), problems);
        assertEquals(List.of(), problems);
    }

    private static void walk(CommandLine cl, List<String> problems) {
        String name = cl.getCommandSpec().qualifiedName();
        if (!PENDING.contains(name)) {
            check(cl, name, problems);
        }
        for (CommandLine sub : cl.getSubcommands().values()) {
            if (sub.getParent() == cl) {   // an alias would visit it twice
                walk(sub, problems);
            }
        }
    }

    private static void check(CommandLine cl, String name, List<String> problems) {
        String help = render(cl, 80, problems, name);
        String wide = render(cl, 2000, problems, name);
        if (help.contains("[picocli")) {
            problems.add(name + ": a picocli warning: " + help.lines().filter(l -> l.contains("[picocli")).findFirst().orElse(""));
        }
        if (Pattern.compile("\\bnull\\b").matcher(help).find()) {
            problems.add(name + ": says null (an unescaped ${...}?)");
        }
        // a word cut by a line break ("docs/mcp-clients." + "md.") is no word of the unwrapped text
        Set<String> words = new HashSet<>(Arrays.asList(wide.split("\\s+")));
        String body = help.substring(help.indexOf('\n') + 1);   // the synopsis wraps inside [options]
        for (String w : body.split("\\s+")) {
            if (!w.isEmpty() && !words.contains(w) && !w.startsWith("[") && !w.endsWith("]...")) {
                problems.add(name + ": the word '" + w + "' is cut by a line break");
            }
        }
        CommandSpec spec = cl.getCommandSpec();
        List<String> texts = new ArrayList<>(Arrays.asList(spec.usageMessage().description()));
        for (ArgSpec arg : spec.args()) {
            texts.addAll(Arrays.asList(arg.description()));
        }
        for (String t : texts) {
            String line = t.strip().replaceAll("(%n)+$", "");   // a format newline (picocli's own help)
            if (!line.isEmpty() && !t.startsWith("  ") && !SENTENCE_END.matcher(line).matches()) {
                problems.add(name + ": a description line does not end a sentence: '" + line + "'");
            }
        }
    }

    private static String render(CommandLine cl, int width, List<String> problems, String name) {
        StringWriter err = new StringWriter();
        CommandLine.Help.ColorScheme plain = CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF);
        int before = cl.getUsageHelpWidth();
        // picocli writes a format warning to stderr through its tracer; capture it there
        java.io.PrintStream oldErr = System.err;
        java.io.ByteArrayOutputStream traced = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(traced, true));
        try {
            cl.setUsageHelpWidth(width);
            StringWriter out = new StringWriter();
            cl.usage(new PrintWriter(out), plain);
            return traced + out.toString() + err;
        } finally {
            System.setErr(oldErr);
            cl.setUsageHelpWidth(before);
        }
    }
}

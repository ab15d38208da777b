package dev.brokerctl.cli;

import dev.brokerctl.protocol.Durations;
import dev.brokerctl.vault.Names;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditEntry;
import dev.brokerctl.vault.audit.AuditVerification;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.SerializableString;
import tools.jackson.core.io.CharacterEscapes;
import tools.jackson.core.io.SerializedString;
import tools.jackson.core.json.JsonFactory;

@Command(name = "audit", description = {
    "Print the audit log, oldest first: requests, decisions, grants, runs, changes and unlocks.",
    "Entries name variables and show argv, never values. The log is encrypted and hash-chained"
        + " inside the vault; damage is reported on stderr (exit 1)."},
        subcommands = AuditCommand.Verify.class)
final class AuditCommand extends VaultCommand {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'").withZone(ZoneOffset.UTC);
    private static final JsonFactory JSON = JsonFactory.builder()
            .characterEscapes(new TerminalSafeEscapes()).build();
    /** Detail strings printed without quotes; anything else is quoted as a JSON string. */
    private static final Pattern BARE = Pattern.compile("[A-Za-z0-9_./:@+-]+");

    @Option(names = "--json", description = "Print one JSON object per entry and line (JSON Lines).")
    boolean json;

    @Option(names = "--follow", description = "Keep printing entries as they are appended (the vault"
            + " is polled every second) until interrupted.")
    boolean follow;

    @Option(names = "--since", paramLabel = "DURATION",
            description = "Only entries from this long ago on, e.g. 90s, 15m, 2h, 1d.")
    String since;

    @Option(names = "--env", paramLabel = "ENV", description = "Only entries about this environment.")
    String environment;

    /** How often --follow looks for new entries; it watches another process's writes. */
    Duration pollInterval = Duration.ofSeconds(1);

    private Instant from;
    private int damaged;

    @Override
    public Integer call() throws Exception {
        from = since == null ? null : Instant.now().minus(Durations.parse(since));
        if (environment != null) {
            Names.checkEnvironment(environment);
        }
        try (VaultSession s = unlock()) {
            AuditVerification chain = s.verifyAudit();
            // Unfiltered reads, filtered here: --follow must move past entries the filters drop.
            long last = show(s.auditEntries(null, null), 0);
            if (!chain.isIntact()) {
                damaged++;
                err().println("brokerctl: " + describe(chain));
                err().flush();
            }
            while (follow) {
                try {
                    Thread.sleep(pollInterval.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                last = show(s.auditEntriesAfter(last, null, null), last);
            }
        }
        return damaged == 0 ? ExitCodes.OK : ExitCodes.FAILURE;
    }

    /** Prints the entries that pass the filters and every damaged one; returns the last seq seen. */
    private long show(List<AuditEntry> batch, long last) {
        for (AuditEntry e : batch) {
            last = Math.max(last, e.seq());
            if (e.isDamaged()) {
                damaged++;
                print(e);
                err().println("brokerctl: audit entry " + e.seq() + " failed its integrity check: "
                        + e.damage() + "; check the log with: brokerctl audit verify");
            } else if ((from == null || !e.time().isBefore(from))
                    && (environment == null || environment.equals(e.environment()))) {
                print(e);
            }
        }
        out().flush();
        err().flush();
        return last;
    }

    private void print(AuditEntry e) {
        if (json) {
            out().println(jsonLine(e));
        } else if (e.isDamaged()) {
            out().printf(Locale.ROOT, "%-20s  %5d  %-19s  %s%n", "-", e.seq(), "damaged",
                    Table.printable(e.damage()));
        } else {
            StringBuilder line = new StringBuilder();
            line.append(String.format(Locale.ROOT, "%-20s  %5d  %-19s  %-10s", TIME.format(e.time()),
                    e.seq(), e.type().id(), e.environment() == null ? "-" : quoteIfNeeded(e.environment())));
            for (Map.Entry<String, Object> d : e.details().entrySet()) {
                line.append("  ").append(d.getKey()).append('=').append(text(d.getValue()));
            }
            out().println(line.toString().stripTrailing());
        }
    }

    /** {@code {"seq","time","type","environment","details":{...}}}, or {@code {"seq","damaged"}}. */
    static String jsonLine(AuditEntry e) {
        StringWriter buf = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(buf)) {
            g.writeStartObject();
            g.writeNumberProperty("seq", e.seq());
            if (e.isDamaged()) {
                g.writeStringProperty("damaged", e.damage());
            } else {
                g.writeStringProperty("time", e.time().toString());
                g.writeStringProperty("type", e.type().id());
                if (e.environment() == null) {
                    g.writeNullProperty("environment");
                } else {
                    g.writeStringProperty("environment", e.environment());
                }
                g.writeObjectPropertyStart("details");
                for (Map.Entry<String, Object> d : e.details().entrySet()) {
                    Object v = d.getValue();
                    if (v instanceof Long n) {
                        g.writeNumberProperty(d.getKey(), n);
                    } else if (v instanceof List<?> list) {
                        g.writeArrayPropertyStart(d.getKey());
                        for (Object item : list) {
                            g.writeString((String) item);
                        }
                        g.writeEndArray();
                    } else {
                        g.writeStringProperty(d.getKey(), String.valueOf(v));
                    }
                }
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        return buf.toString();
    }

    /** Numbers as digits; lists (argv, names) always as a JSON array, so word boundaries show. */
    static String text(Object value) {
        if (value instanceof List<?> list) {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < list.size(); i++) {
                b.append(i == 0 ? "" : ",").append(quote((String) list.get(i)));
            }
            return b.append(']').toString();
        }
        if (value instanceof String s) {
            return quoteIfNeeded(s);
        }
        return String.valueOf(value);
    }

    static String quoteIfNeeded(String s) {
        return BARE.matcher(s).matches() ? s : quote(s);
    }

    /**
     * A JSON string literal that is also safe on a terminal: control characters, line and
     * paragraph separators and bidirectional overrides are escaped, so an argv cannot rewrite
     * or reorder what the human reads.
     */
    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (unsafeOnTerminal(c)) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** Control characters, line/paragraph separators, bidirectional marks and overrides. */
    static boolean unsafeOnTerminal(int c) {
        return Character.isISOControl(c) || c == 0x2028 || c == 0x2029 || c == 0x200e || c == 0x200f
                || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
    }

    /** JSON's standard escapes, plus {@link #unsafeOnTerminal} characters as JSON unicode escapes. */
    private static final class TerminalSafeEscapes extends CharacterEscapes {
        private final int[] ascii = standardAsciiEscapesForJSON();

        TerminalSafeEscapes() {
            ascii[0x7f] = ESCAPE_STANDARD;
        }

        @Override
        public int[] getEscapeCodesForAscii() {
            return ascii;
        }

        @Override
        public SerializableString getEscapeSequence(int ch) {
            return unsafeOnTerminal(ch)
                    ? new SerializedString(String.format(Locale.ROOT, "\\u%04x", ch)) : null;
        }
    }

    static String describe(AuditVerification v) {
        if (v.isIntact()) {
            return "audit log intact: " + v.verified() + (v.verified() == 1 ? " entry" : " entries");
        }
        return "audit log damaged: " + v.problem()
                + (v.verified() == 0 ? "" : v.verified() == 1 ? " (entry 1 verifies)"
                        : " (entries 1 to " + v.verified() + " verify)")
                + "; the vault file was modified outside brokerctl or is corrupted";
    }

    /**
     * One line per {@code records_lost} entry: entries the daemon could not write (the disk was
     * full), by kind and count. A recorded gap, not damage: the chain around it is intact.
     */
    static List<String> gaps(List<AuditEntry> entries) {
        List<String> lines = new java.util.ArrayList<>();
        for (AuditEntry e : entries) {
            if (!e.isDamaged() && e.type() == dev.brokerctl.vault.audit.AuditEvent.RECORDS_LOST) {
                Long count = e.number(dev.brokerctl.vault.audit.AuditDetails.COUNT);
                List<String> events = e.strings(dev.brokerctl.vault.audit.AuditDetails.EVENTS);
                String why = e.string(dev.brokerctl.vault.audit.AuditDetails.REASON);
                lines.add("entry " + e.seq() + " (" + TIME.format(e.time()) + ") records a gap: "
                        + (count == null ? "?" : count) + (count != null && count == 1 ? " entry" : " entries")
                        + " the daemon could not write " + (count != null && count == 1 ? "was" : "were") + " lost"
                        + (events == null ? "" : " (" + Table.printable(String.join(", ", events)) + ")")
                        + (why == null ? "" : ": " + Table.printable(why)));
            }
        }
        return lines;
    }

    @Command(name = "verify", description = {
        "Check the audit log's hash chain and head: no entry changed, removed, reordered or cut off.",
        "Also lists the gaps the daemon recorded (records_lost: entries it could not write, e.g. on a"
            + " full disk, by kind and count); a recorded gap is not damage.",
        "Exit 0 if intact, else 1 naming the first bad entry."})
    static final class Verify extends VaultCommand {

        @Override
        public Integer call() throws Exception {
            AuditVerification v;
            List<String> gaps;
            try (VaultSession s = unlock()) {
                v = s.verifyAudit();
                gaps = v.isIntact() ? gaps(s.auditEntries(null, null)) : List.of();
            }
            if (v.isIntact()) {
                out().println(describe(v));
                for (String gap : gaps) {
                    out().println(gap);
                }
                out().flush();
                return ExitCodes.OK;
            }
            err().println("brokerctl: " + describe(v));
            err().flush();
            return ExitCodes.FAILURE;
        }
    }
}

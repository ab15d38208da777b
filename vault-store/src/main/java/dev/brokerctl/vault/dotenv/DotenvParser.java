package dev.brokerctl.vault.dotenv;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Parses dotenv files ({@code .env}) into {@link DotenvEntry} values without ever turning a value
 * into a {@link String}: values go from the input bytes straight into {@code byte[]}.
 *
 * <h2>Syntax</h2>
 * Compatible with what dotenvx, docker compose and python-dotenv accept for ordinary files.
 * "Blank" below means space or tab.
 * <ul>
 *   <li>Lines end with {@code \n} or {@code \r\n} (or a lone {@code \r}, see below). A UTF-8
 *       BOM at the start of the input is skipped.</li>
 *   <li>Blank lines and lines whose first non-blank character is {@code #} are ignored.</li>
 *   <li>An entry is {@code [blanks][export blanks]NAME[blanks]=[blanks]VALUE}. The name must
 *       match {@code [A-Za-z_][A-Za-z0-9_]{0,127}}. {@code export} followed by blanks and then
 *       {@code =} (or the end of the line) is the variable named {@code export}.</li>
 *   <li><b>Unquoted</b> values are taken literally up to the end of the line, with surrounding
 *       blanks trimmed. A {@code #} preceded by a blank starts a comment; any other {@code #}
 *       is part of the value ({@code A=abc#def} is {@code abc#def}, {@code A=#x} is
 *       {@code #x}, {@code A= #x} is empty). No escapes are processed.</li>
 *   <li><b>Single-quoted</b> values ({@code '...'}) are literal: no escapes at all, so a value
 *       cannot contain {@code '}. They may span lines.</li>
 *   <li><b>Double-quoted</b> values ({@code "..."}) process the escapes {@code \n \r \t \\ \"
 *       \' \$}; any other {@code \x} is kept as the two bytes {@code \} and {@code x}
 *       (including a backslash before a line break). They may span lines.</li>
 *   <li>After a closing quote only blanks and an optional {@code #} comment may follow; the
 *       {@code #} need not be preceded by a blank there ({@code A="x"#c} is {@code x}).</li>
 *   <li>{@code A=}, {@code A=''} and {@code A=""} give an empty value.</li>
 * </ul>
 *
 * <h2>Choices where the reference tools disagree</h2>
 * <ul>
 *   <li><b>No variable expansion</b>: {@code ${OTHER}} and {@code $OTHER} stay literal in every
 *       form (docker compose and dotenvx expand them; python-dotenv can). Expanding would let
 *       one secret leak into another entry and makes the result depend on the environment.
 *       Use {@code \$} inside double quotes for a literal dollar if the file is also read by
 *       tools that expand.</li>
 *   <li><b>A line without {@code =} is an error</b> (python-dotenv yields a value-less key,
 *       docker compose reads the variable from the environment, dotenvx skips it).</li>
 *   <li><b>Line breaks inside quoted values become {@code \n}</b>: {@code \r\n} turns into
 *       {@code \n} as in all three tools, so a PEM key reads the same from a Windows-edited
 *       file. A lone {@code \r} is a line break too (as in python-dotenv and dotenvx; docker
 *       compose keeps it as a byte), so it is counted as a line and stored as {@code \n}.
 *       Otherwise {@code A=1\rB=2} would silently be one entry. A real carriage return in a
 *       value is written as the escape {@code \r} inside double quotes.</li>
 *   <li><b>Backticks</b> are not quotes (dotenvx treats them as quotes); {@code A=`x`} is the
 *       literal value {@code `x`}.</li>
 *   <li><b>Single quotes have no escapes</b> (python-dotenv accepts {@code \'} and
 *       {@code \\} there); this matches docker compose.</li>
 *   <li><b>Duplicate names</b>: the last occurrence wins, as in all three tools. Only the
 *       winning entries are returned, in file order of those winning lines (so {@code A=1,
 *       B=2, A=3} yields {@code B, A}); overridden values are zeroed. The names are reported
 *       by {@link Result#duplicateNames()} so a caller can warn.</li>
 *   <li>Names are ASCII. Values may contain any bytes, including invalid UTF-8 and NUL.</li>
 *   <li>A BOM anywhere but the start of the input is not skipped (it fails as a name).</li>
 * </ul>
 *
 * <h2>Two syntaxes</h2>
 * Where loaders disagree on the same bytes, {@link Syntax} picks whose reading is taken, so the
 * value stored is the one the application saw. {@link Syntax#SHELL} is the syntax above.
 * {@link Syntax#DOTENV} reads as npm {@code dotenv} 17 does (the loader most {@code .env} files are
 * written for): an unquoted value ends at the first {@code #}, blank before it or not; inside
 * double quotes only {@code \n} and {@code \r} are escapes ({@code \t}, {@code \"}, {@code \\}
 * stay as written, and {@code \"} does not close the value); backticks quote like single quotes;
 * {@code \'} does not close a single-quoted value and stays as written. Everything else, errors
 * included, is the same in both. Each line that the two read differently gets a {@link Note}
 * naming the line, the variable and the value's length, never the value.
 *
 * <h2>Errors</h2>
 * A {@link DotenvException} names the line and the fix and never contains any part of a value
 * (nor the text of a line that has no {@code =}, which may be a pasted token). An unterminated
 * quote is reported at the line where its value started. When parsing fails, every value
 * parsed so far is zeroed.
 *
 * <h2>Limits</h2>
 * Values are not limited here; callers enforce {@link #MAX_VALUE_BYTES}. The input can be of
 * any size and is scanned once (quoted values twice: find the end, then decode). The input
 * array is neither modified nor zeroed: it belongs to the caller.
 */
public final class DotenvParser {

    /** Longest accepted variable name, in characters. */
    public static final int MAX_NAME_LENGTH = 128;

    /**
     * Largest value size (64 KiB) brokerctl stores. <em>Not</em> enforced by {@link #parse};
     * the caller checks {@link DotenvEntry#valueLength()}.
     */
    public static final int MAX_VALUE_BYTES = 64 * 1024;

    private static final String NAME_RULE = "[A-Za-z_][A-Za-z0-9_]{0,127}";

    /** Whose reading of the forms where loaders disagree is taken (see the class comment). */
    public enum Syntax {
        /** npm {@code dotenv} 17. */
        DOTENV("dotenv"),
        /** POSIX-shell-like quoting with escapes in double quotes, as docker compose and python-dotenv. */
        SHELL("shell");

        private final String id;

        Syntax(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        /** @throws IllegalArgumentException naming the syntaxes there are */
        public static Syntax parse(String id) {
            for (Syntax s : values()) {
                if (s.id.equals(id)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown dotenv syntax '" + id + "'; use dotenv (npm dotenv, the"
                    + " default) or shell");
        }
    }

    /**
     * A line the other {@link Syntax} reads differently: what differs, for a warning. Holds the
     * value's length, never any of its bytes.
     */
    public record Note(int line, String name, int valueLength, String text) {
    }

    private final byte[] in;
    private final Syntax syntax;
    private final List<Note> notes = new ArrayList<>();
    private String pendingNote;
    private int pos;
    private int line = 1;

    private DotenvParser(byte[] in, Syntax syntax) {
        this.in = in;
        this.syntax = syntax;
    }

    /**
     * Parses a whole dotenv file.
     *
     * @param utf8 the file contents; not modified, not retained
     * @return the entries (last occurrence of each name, in file order) and the duplicate names
     * @throws DotenvException if the file is malformed; the message never contains a value
     */
    public static Result parse(byte[] utf8) throws DotenvException {
        return parse(utf8, Syntax.SHELL);
    }

    /** As {@link #parse(byte[])}, reading the forms where loaders disagree as {@code syntax} does. */
    public static Result parse(byte[] utf8, Syntax syntax) throws DotenvException {
        Objects.requireNonNull(utf8, "utf8");
        Objects.requireNonNull(syntax, "syntax");
        List<DotenvEntry> all = new ArrayList<>();
        boolean ok = false;
        DotenvParser parser = new DotenvParser(utf8, syntax);
        try {
            parser.parseAll(all);
            ok = true;
        } finally {
            if (!ok) {
                all.forEach(DotenvEntry::destroy);
            }
        }
        Result r = keepLast(all);
        return new Result(r.entries, r.duplicateNames, parser.notes);
    }

    /** The outcome of {@link DotenvParser#parse}. */
    public static final class Result {
        private final List<DotenvEntry> entries;
        private final List<String> duplicateNames;
        private final List<Note> notes;

        private Result(List<DotenvEntry> entries, List<String> duplicateNames) {
            this(entries, duplicateNames, List.of());
        }

        private Result(List<DotenvEntry> entries, List<String> duplicateNames, List<Note> notes) {
            this.entries = Collections.unmodifiableList(entries);
            this.duplicateNames = Collections.unmodifiableList(duplicateNames);
            this.notes = List.copyOf(notes);
        }

        /** Lines the other {@link Syntax} reads differently, in file order. Unmodifiable. */
        public List<Note> notes() {
            return notes;
        }

        /** One entry per name: its last occurrence, ordered by line. Unmodifiable. */
        public List<DotenvEntry> entries() {
            return entries;
        }

        /**
         * Names that occurred more than once, each listed once, in the order their first
         * repetition appears. Empty if there were none. Unmodifiable.
         */
        public List<String> duplicateNames() {
            return duplicateNames;
        }

        /** Entry names and lengths only (see {@link DotenvEntry#toString()}). */
        @Override
        public String toString() {
            return "DotenvParser.Result[entries=" + entries + ", duplicateNames=" + duplicateNames
                    + "]";
        }
    }

    private static Result keepLast(List<DotenvEntry> all) {
        Map<String, Integer> lastIndex = new HashMap<>();
        for (int i = 0; i < all.size(); i++) {
            lastIndex.put(all.get(i).name(), i);
        }
        List<DotenvEntry> kept = new ArrayList<>(lastIndex.size());
        Set<String> seen = new HashSet<>();
        Set<String> duplicates = new LinkedHashSet<>();
        for (int i = 0; i < all.size(); i++) {
            DotenvEntry entry = all.get(i);
            if (!seen.add(entry.name())) {
                duplicates.add(entry.name());
            }
            if (lastIndex.get(entry.name()) == i) {
                kept.add(entry);
            } else {
                entry.destroy();
            }
        }
        return new Result(kept, new ArrayList<>(duplicates));
    }

    private void parseAll(List<DotenvEntry> out) throws DotenvException {
        if (in.length >= 3 && in[0] == (byte) 0xEF && in[1] == (byte) 0xBB
                && in[2] == (byte) 0xBF) {
            pos = 3;
        }
        while (pos < in.length) {
            parseLine(out);
        }
    }

    /** Parses one logical line (several physical lines for a multi-line quoted value). */
    private void parseLine(List<DotenvEntry> out) throws DotenvException {
        skipBlanks();
        if (atEol()) {
            skipEol();
            return;
        }
        if (in[pos] == '#') {
            skipToEol();
            skipEol();
            return;
        }

        int entryLine = line;
        String name = parseNameAndEquals(entryLine);
        skipBlanks();

        pendingNote = null;
        if (atEol()) {
            out.add(new DotenvEntry(name, entryLine, new byte[0]));
        } else if (in[pos] == '\'') {
            // Added before the trailing-text check so that a failure there zeroes it too.
            out.add(new DotenvEntry(name, entryLine, singleQuoted(name, entryLine, '\'', "single")));
            expectOnlyCommentAfterQuote(name, entryLine, "single");
        } else if (in[pos] == '"') {
            out.add(new DotenvEntry(name, entryLine, doubleQuoted(name, entryLine)));
            expectOnlyCommentAfterQuote(name, entryLine, "double");
        } else if (in[pos] == '`' && syntax == Syntax.DOTENV) {
            out.add(new DotenvEntry(name, entryLine, singleQuoted(name, entryLine, '`', "backtick")));
            expectOnlyCommentAfterQuote(name, entryLine, "backtick");
            pendingNote = "backticks quote the value here (npm dotenv); --syntax shell keeps them as part of it";
        } else {
            if (in[pos] == '`') {
                pendingNote = "backticks are kept as part of the value here; npm dotenv (--syntax dotenv) strips"
                        + " them as quotes";
            }
            out.add(new DotenvEntry(name, entryLine, unquoted()));
        }
        if (pendingNote != null) {
            notes.add(new Note(entryLine, name, out.get(out.size() - 1).valueLength(), pendingNote));
        }
        skipEol();
    }

    /**
     * Reads {@code [export ]NAME[blanks]=} and returns the name. Nothing from the line is put in
     * an error message: until {@code =} is seen, the "name" may be a pasted secret.
     */
    private String parseNameAndEquals(int entryLine) throws DotenvException {
        skipExportPrefix();
        int start = pos;
        while (pos < in.length && isNameChar(in[pos])) {
            pos++;
        }
        int end = pos;
        boolean wellFormed = end > start && !isDigit(in[start])
                && (atEol() || isBlank(in[pos]) || in[pos] == '=');
        if (!wellFormed) {
            throw new DotenvException(entryLine, "invalid variable name; a name must match "
                    + NAME_RULE + " (ASCII letters, digits and _, not starting with a digit) and "
                    + "be followed by '='; rename it, or start the line with # to comment it out");
        }
        if (end - start > MAX_NAME_LENGTH) {
            throw new DotenvException(entryLine, "variable name is " + (end - start)
                    + " characters long; shorten it to at most " + MAX_NAME_LENGTH);
        }
        skipBlanks();
        if (atEol() || in[pos] == '#') {
            throw new DotenvException(entryLine, "no '=' found; write the entry as NAME=value, "
                    + "or start the line with # to comment it out");
        }
        if (in[pos] != '=') {
            throw new DotenvException(entryLine, "expected '=' after the variable name; names "
                    + "cannot contain blanks; write the entry as NAME=value");
        }
        pos++;
        return new String(in, start, end - start, StandardCharsets.US_ASCII);
    }

    /**
     * Skips {@code export} plus blanks, unless what follows is {@code =} or the line end: then
     * {@code export} is the name itself ({@code export=1}, {@code export = 1}).
     */
    private void skipExportPrefix() {
        byte[] keyword = {'e', 'x', 'p', 'o', 'r', 't'};
        int after = pos + keyword.length;
        if (after >= in.length || !isBlank(in[after])
                || !Arrays.equals(in, pos, after, keyword, 0, keyword.length)) {
            return;
        }
        int p = after;
        while (p < in.length && isBlank(in[p])) {
            p++;
        }
        if (!isEolAt(p) && in[p] != '=') {
            pos = p;
        }
    }

    /** {@code pos} is at the opening quote. Leaves {@code pos} after the closing quote. */
    private byte[] singleQuoted(String name, int entryLine, char quote, String kind) throws DotenvException {
        pos++;
        int start = pos;
        while (pos < in.length && in[pos] != quote) {
            if (syntax == Syntax.DOTENV && in[pos] == '\\' && pos + 1 < in.length && in[pos + 1] == quote) {
                pos++;   // npm dotenv: \' (\` in backticks) does not close the value, and stays as written
                if (quote == '\'') {
                    pendingNote = "\\' does not end this single-quoted value (npm dotenv); --syntax shell ends it there";
                }
            }
            countLineBreak();
            pos++;
        }
        if (pos >= in.length) {
            throw unterminated(name, entryLine, kind, String.valueOf(quote));
        }
        int end = pos;
        pos++;
        return copyWithLfLineBreaks(start, end);
    }

    /** {@code pos} is at the opening quote. Leaves {@code pos} after the closing quote. */
    private byte[] doubleQuoted(String name, int entryLine) throws DotenvException {
        pos++;
        int start = pos;
        while (pos < in.length && in[pos] != '"') {
            if (in[pos] == '\\' && pos + 1 < in.length) {
                pos++; // the escaped byte cannot close the value
            }
            countLineBreak();
            pos++;
        }
        if (pos >= in.length) {
            throw unterminated(name, entryLine, "double", "\"");
        }
        int end = pos;
        pos++;
        return decodeDoubleQuoted(start, end);
    }

    /**
     * Decodes {@code in[start, end)}, the body of a double-quoted value. Every backslash in the
     * body is followed by another body byte: the scan in {@link #doubleQuoted} skips escaped
     * pairs, so the closing quote is never preceded by an unpaired backslash.
     */
    private byte[] decodeDoubleQuoted(int start, int end) {
        byte[] buf = new byte[end - start];
        int n = 0;
        for (int i = start; i < end; i++) {
            byte b = in[i];
            if (b == '\\' && syntax == Syntax.DOTENV) {
                byte next = in[i + 1];
                if (next == 'n' || next == 'r') {
                    buf[n++] = next == 'n' ? (byte) '\n' : (byte) '\r';
                    i++;
                    continue;
                }
                if (next == 't' || next == '\\' || next == '"' || next == '\'' || next == '$') {
                    pendingNote = "\\" + (char) next + " inside double quotes is kept as written (npm dotenv);"
                            + " --syntax shell decodes it";
                }
                buf[n++] = b;   // kept; the next byte is handled on the next iteration
            } else if (b == '\\') {
                byte next = in[i + 1];
                if (next == 't' || next == '\\' || next == '"' || next == '\'' || next == '$') {
                    pendingNote = "\\" + (char) next + " inside double quotes is decoded here; npm dotenv"
                            + " (--syntax dotenv) keeps it as written";
                }
                switch (next) {
                    case 'n': buf[n++] = '\n'; i++; break;
                    case 'r': buf[n++] = '\r'; i++; break;
                    case 't': buf[n++] = '\t'; i++; break;
                    case '\\': case '"': case '\'': case '$': buf[n++] = next; i++; break;
                    // Unknown escape: keep the backslash; the next byte is handled as an
                    // ordinary byte on the next iteration, so line breaks are still normalized.
                    default: buf[n++] = '\\'; break;
                }
            } else if (isCrlfAt(i, end)) {
                continue; // the \n that follows is copied on the next iteration
            } else {
                buf[n++] = b == '\r' ? (byte) '\n' : b;
            }
        }
        if (n == buf.length) {
            return buf;
        }
        byte[] value = Arrays.copyOf(buf, n);
        Arrays.fill(buf, (byte) 0);
        return value;
    }

    /** Unquoted value from {@code pos} to the comment or line end, trailing blanks trimmed. */
    private byte[] unquoted() {
        int start = pos;
        // in[pos - 1] is in range: at least the '=' precedes the value.
        while (!atEol() && !(in[pos] == '#' && (isBlank(in[pos - 1]) || syntax == Syntax.DOTENV))) {
            if (in[pos] == '#') {
                pendingNote = "a # without a blank before it is part of the value here; npm dotenv (--syntax"
                        + " dotenv) ends the value there";
            }
            pos++;
        }
        if (syntax == Syntax.DOTENV && !atEol() && !isBlank(in[pos - 1])) {
            pendingNote = "a # without a blank before it ends the value here (npm dotenv); --syntax shell keeps"
                    + " it as part of the value";
        }
        int end = pos;
        while (end > start && isBlank(in[end - 1])) {
            end--;
        }
        skipToEol();
        return Arrays.copyOfRange(in, start, end);
    }

    private void expectOnlyCommentAfterQuote(String name, int entryLine, String kind)
            throws DotenvException {
        skipBlanks();
        if (atEol()) {
            return;
        }
        if (in[pos] == '#') {
            skipToEol();
            return;
        }
        String started = line == entryLine ? "" : " (the value starts on line " + entryLine + ")";
        String escapeHint = kind.equals("double")
                ? "if the quote is part of the value, write it as \\\""
                : "a single-quoted value cannot contain ', so use double quotes instead";
        throw new DotenvException(line, "unexpected text after the closing " + kind
                + " quote of " + name + started + "; only blanks and a # comment may follow it; "
                + "remove the text, or " + escapeHint);
    }

    private DotenvException unterminated(String name, int entryLine, String kind, String quote) {
        return new DotenvException(entryLine, "unterminated " + kind + "-quoted value for "
                + name + "; close the quote with " + quote
                + " (quoted values may span lines, so everything after it was read as the value)");
    }

    /** Copies {@code in[start, end)} with every line break ({@code \r\n}, {@code \r}) as {@code \n}. */
    private byte[] copyWithLfLineBreaks(int start, int end) {
        int crlfs = 0;
        for (int i = start; i < end; i++) {
            if (isCrlfAt(i, end)) {
                crlfs++;
            }
        }
        byte[] value = new byte[end - start - crlfs];
        int n = 0;
        for (int i = start; i < end; i++) {
            if (isCrlfAt(i, end)) {
                continue;
            }
            value[n++] = in[i] == '\r' ? (byte) '\n' : in[i];
        }
        return value;
    }

    private boolean isCrlfAt(int i, int end) {
        return in[i] == '\r' && i + 1 < end && in[i + 1] == '\n';
    }

    /** Counts a line if {@code pos} is at {@code \n} or a lone {@code \r} (not {@code \r\n}). */
    private void countLineBreak() {
        if (in[pos] == '\n' || (in[pos] == '\r' && !isCrlfAt(pos, in.length))) {
            line++;
        }
    }

    private boolean atEol() {
        return isEolAt(pos);
    }

    private boolean isEolAt(int p) {
        return p >= in.length || in[p] == '\n' || in[p] == '\r';
    }

    /** Steps over one line break ({@code \n}, {@code \r\n} or {@code \r}); a no-op at the end. */
    private void skipEol() {
        if (pos >= in.length) {
            return;
        }
        if (isCrlfAt(pos, in.length)) {
            pos++;
        }
        pos++;
        line++;
    }

    private void skipToEol() {
        while (!atEol()) {
            pos++;
        }
    }

    private void skipBlanks() {
        while (pos < in.length && isBlank(in[pos])) {
            pos++;
        }
    }

    private static boolean isBlank(byte b) {
        return b == ' ' || b == '\t';
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    private static boolean isNameChar(byte b) {
        return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || isDigit(b) || b == '_';
    }
}

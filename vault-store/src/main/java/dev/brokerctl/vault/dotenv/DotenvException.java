package dev.brokerctl.vault.dotenv;

/**
 * A dotenv file could not be parsed.
 *
 * <p>The message has the form {@code "line N: what is wrong; how to fix it"}. It may name a
 * variable once the parser has seen {@code NAME=}, but it never contains any part of a value, a
 * comment, or text that failed to parse as a name (a line without {@code =} may be a pasted
 * token).
 */
public final class DotenvException extends Exception {

    private static final long serialVersionUID = 1L;

    private final int line;

    /**
     * @param line 1-based line number the problem is reported at
     * @param problem what is wrong and how to fix it; must not contain any part of a value
     */
    DotenvException(int line, String problem) {
        super("line " + line + ": " + problem);
        this.line = line;
    }

    /** The 1-based line number the problem is reported at. */
    public int line() {
        return line;
    }
}

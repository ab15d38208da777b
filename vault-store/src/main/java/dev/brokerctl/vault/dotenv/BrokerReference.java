package dev.brokerctl.vault.dotenv;

import java.nio.charset.StandardCharsets;

/**
 * A {@code NAME=broker://ENV/VARIABLE} line of a template ({@code brokerctl run --env-file}): the
 * variable NAME gets the vault's ENV/VARIABLE. A value that starts with {@code broker:} (any case)
 * is meant as a reference, so one that is not a valid reference is an error naming its line, never
 * a literal that reaches the command. Checked by hand, not with a regex: this is on the
 * {@code brokerctl run} start-up path.
 */
public record BrokerReference(String name, String environment, String variable) {

    static final String PREFIX = "broker://";

    /**
     * The reference on {@code entry}'s line; null when its value is a plain value (does not start
     * with {@code broker:}).
     *
     * @throws DotenvException naming the line, the variable and the rule; never the value
     */
    public static BrokerReference of(DotenvEntry entry) throws DotenvException {
        byte[] bytes = entry.valueBytes();
        if (!startsWithIgnoreCase(bytes, "broker:")) {
            return null;
        }
        String value = new String(bytes, StandardCharsets.UTF_8);
        String problem;
        if (!value.startsWith(PREFIX)) {
            problem = value.regionMatches(true, 0, PREFIX, 0, PREFIX.length())
                    ? "the scheme must be in lower case"
                    : "a reference starts with broker:// (two slashes)";
        } else {
            String rest = value.substring(PREFIX.length());
            int slash = rest.indexOf('/');
            String env = slash < 0 ? rest : rest.substring(0, slash);
            String variable = slash < 0 ? "" : rest.substring(slash + 1);
            if (slash < 0 || variable.isEmpty()) {
                problem = "the variable is missing after the environment";
            } else if (!isEnvironment(env)) {
                problem = "the environment is not a valid name (1-63 characters of a-z, 0-9, '_' and '-',"
                        + " starting with a letter or digit)";
            } else if (!isVariable(variable)) {
                problem = "the variable is not a valid name (letters, digits and '_', not starting with a digit)";
            } else {
                return new BrokerReference(entry.name(), env, variable);
            }
        }
        throw new DotenvException(entry.line(), entry.name() + " is not a valid broker reference: " + problem
                + "; write " + entry.name() + "=broker://ENV/VARIABLE");
    }

    private static boolean startsWithIgnoreCase(byte[] b, String prefix) {
        if (b.length < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (Character.toLowerCase((char) b[i]) != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** As {@code Names.isEnvironment}: {@code [a-z0-9][a-z0-9_-]{0,62}}; no regex, for {@code run}. */
    public static boolean isEnvironment(String s) {
        if (s.isEmpty() || s.length() > 63) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** As {@code Names.isVariable}: {@code [A-Za-z_][A-Za-z0-9_]{0,127}}. */
    static boolean isVariable(String s) {
        if (s.isEmpty() || s.length() > 128) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}

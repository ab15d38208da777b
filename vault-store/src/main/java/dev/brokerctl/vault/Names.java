package dev.brokerctl.vault;

import java.util.regex.Pattern;

/** Name rules for environments and variables. */
public final class Names {

    private static final Pattern ENVIRONMENT = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    private static final Pattern VARIABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");

    private Names() {
    }

    public static boolean isEnvironment(String name) {
        return name != null && ENVIRONMENT.matcher(name).matches();
    }

    public static boolean isVariable(String name) {
        return name != null && VARIABLE.matcher(name).matches();
    }

    /** @throws IllegalArgumentException with the rule, for user input */
    public static String checkEnvironment(String name) {
        if (!isEnvironment(name)) {
            throw new IllegalArgumentException("invalid environment name '" + printable(name)
                    + "': use 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit");
        }
        return name;
    }

    /** @throws IllegalArgumentException with the rule, for user input */
    public static String checkVariable(String name) {
        if (!isVariable(name)) {
            throw new IllegalArgumentException("invalid variable name '" + printable(name)
                    + "': use 1-128 characters of A-Z, a-z, 0-9 and '_', not starting with a digit");
        }
        return name;
    }

    /** Names are user input echoed in messages: cut them short and drop control characters. */
    static String printable(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 64; i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) ? '?' : c);
        }
        return s.length() > 64 ? b + "..." : b.toString();
    }
}

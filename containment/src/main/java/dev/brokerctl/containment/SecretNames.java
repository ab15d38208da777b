package dev.brokerctl.containment;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Environment variable names that look like they hold a secret, for {@code brokerctl doctor} and
 * the sandbox's scrubbed environment alike. Names only: a value is never read.
 */
public final class SecretNames {

    /** brokerctl's own and well-known names the patterns below do not cover. */
    private static final Set<String> EXACT = Set.of(
            "BROKERCTL_PASSPHRASE_FILE", "BROKERCTL_NEW_PASSPHRASE_FILE",
            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "GOOGLE_APPLICATION_CREDENTIALS", "DATABASE_URL", "PGPASSWORD", "MYSQL_PWD");

    /** {@code *_TOKEN}, {@code *SECRET*}, {@code *_PASSWORD}, {@code *_API_KEY} and their kin. */
    private static final Pattern PATTERN = Pattern.compile(
            ".*SECRET.*|.*PASSWORD.*|.*CREDENTIAL.*|.*PRIVATE_KEY.*|AWS_.*(KEY|TOKEN).*"
                    + "|(.*_)?(TOKEN|PASSWD|PASS|PWD_FILE|API_KEY|APIKEY|ACCESS_KEY|ACCESS_KEY_ID)");

    private SecretNames() {
    }

    /** True when {@code name} looks like the name of a secret ({@code OLDPWD} and {@code PWD} do not). */
    public static boolean looksSecret(String name) {
        String upper = name.toUpperCase(Locale.ROOT);
        return EXACT.contains(upper) || PATTERN.matcher(upper).matches();
    }
}

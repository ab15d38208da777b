package dev.brokerctl.containment;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The environment a contained agent starts with: the caller's, without the variables that leak
 * secrets through it today. Removed: every name that is a variable in the vault, the passphrase
 * file variables, and names that look secret. Kept although they look secret: the agent's own
 * credential ({@link Agent#keeps()}) and names the user keeps with {@code --keep}; the passphrase
 * file variables are never kept.
 */
public final class SecretEnvironment {

    /** Never passed in, whatever is kept: they name the file that unlocks the vault. */
    public static final Set<String> NEVER = Set.of("BROKERCTL_PASSPHRASE_FILE", "BROKERCTL_NEW_PASSPHRASE_FILE");

    /** The environment to pass, and the names removed (sorted; names only, never values). */
    public record Result(Map<String, String> environment, List<String> removed) {
        @Override
        public String toString() {
            return "SecretEnvironment.Result[removed=" + removed + "]";   // values stay out of logs
        }
    }

    private SecretEnvironment() {
    }

    /** True for names that look like they hold a secret: {@link SecretNames}, one rule for doctor and the sandbox. */
    public static boolean looksSecret(String name) {
        return SecretNames.looksSecret(name);
    }

    /** Scrubs {@code env}; {@code vaultNames} are the vault's variable names, {@code keep} the user's. */
    public static Result scrub(Map<String, String> env, Collection<String> vaultNames, Agent agent, Collection<String> keep) {
        Set<String> vault = Set.copyOf(vaultNames);
        Set<String> kept = new TreeSet<>(keep);
        kept.addAll(agent.keeps());
        Map<String, String> out = new TreeMap<>();
        TreeSet<String> removed = new TreeSet<>();
        for (Map.Entry<String, String> e : env.entrySet()) {
            String name = e.getKey();
            boolean remove = NEVER.contains(name)
                    || (!kept.contains(name) && (vault.contains(name) || looksSecret(name)));
            if (remove) {
                removed.add(name);
            } else {
                out.put(name, e.getValue());
            }
        }
        return new Result(out, List.copyOf(removed));
    }
}

package dev.brokerctl.containment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SecretEnvironmentTest {

    @Test
    void secretLookingNames_vaultNames_andThePassphraseFile_areRemoved_byNameOnly() {
        Map<String, String> env = Map.of("PATH", "/usr/bin", "GITHUB_TOKEN", "t", "DB_PASSWORD", "p",
                "STRIPE_SECRET_KEY", "s", "AWS_ACCESS_KEY_ID", "a", "AWS_REGION", "eu-west-1",
                "SERVICE_URL", "u", "BROKERCTL_PASSPHRASE_FILE", "/f", "SSH_AUTH_SOCK", "/run/x");
        SecretEnvironment.Result r = SecretEnvironment.scrub(env, List.of("SERVICE_URL"), Agent.GENERIC, List.of());
        assertEquals(List.of("AWS_ACCESS_KEY_ID", "BROKERCTL_PASSPHRASE_FILE", "DB_PASSWORD", "GITHUB_TOKEN",
                "SERVICE_URL", "STRIPE_SECRET_KEY"), r.removed());
        assertEquals(Map.of("PATH", "/usr/bin", "AWS_REGION", "eu-west-1", "SSH_AUTH_SOCK", "/run/x"), r.environment());
        assertFalse(r.toString().contains("/usr/bin"), "values stay out of toString");
    }

    @Test
    void theAgentsOwnCredential_andKeptNames_stay_butNeverThePassphraseFile() {
        Map<String, String> env = Map.of("ANTHROPIC_API_KEY", "k", "OPENAI_API_KEY", "o", "NPM_TOKEN", "n",
                "BROKERCTL_NEW_PASSPHRASE_FILE", "/f");
        SecretEnvironment.Result r = SecretEnvironment.scrub(env, List.of(), Agent.of("/usr/local/bin/claude"),
                List.of("NPM_TOKEN", "BROKERCTL_NEW_PASSPHRASE_FILE"));
        assertEquals(List.of("BROKERCTL_NEW_PASSPHRASE_FILE", "OPENAI_API_KEY"), r.removed());
        assertTrue(r.environment().containsKey("ANTHROPIC_API_KEY"));
        assertTrue(r.environment().containsKey("NPM_TOKEN"));
        assertEquals(Agent.CODEX, Agent.of("codex"));
        assertEquals(Agent.GENERIC, Agent.of("sh"));
    }
}

package dev.brokerctl.daemon;

import dev.brokerctl.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a decision is bound to: the SHA-256 of the request's canonical JSON (everything that
 * decides what runs, see {@link #hash}), and the one-time code a human types back, so that keystrokes
 * injected into the terminal without seeing the screen cannot approve.
 */
final class RequestIdentity {

    /** No 0/O, 1/I/L: read off a screen and typed back. */
    private static final String ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    private static final SecureRandom RANDOM = new SecureRandom();

    private RequestIdentity() {
    }

    /**
     * Everything that decides what runs: environment, the executable resolved to an absolute path
     * with its content hash (and its interpreter's), argv, canonical cwd, variables, references,
     * the child's whole environment before injection, masking, stdin, timeout.
     */
    static String hash(RunRequest r, Run.Resolved resolved) {
        Map<String, Object> canonical = new LinkedHashMap<>();
        canonical.put("environment", r.environment());
        canonical.put("executable", resolved.executable().identity());
        canonical.put("argv", r.argv());
        canonical.put("cwd", resolved.cwd().toString());
        canonical.put("variables", r.variables() == null ? List.of("*") : r.variables());
        List<Object> refs = new java.util.ArrayList<>();
        for (RunRequest.Ref ref : r.refs()) {
            refs.add(List.of(ref.name(), ref.environment(), ref.variable()));
        }
        canonical.put("refs", refs);
        canonical.put("env", resolved.environment().variables());
        canonical.put("masking", r.masking());
        canonical.put("stdin", r.forwardStdin());
        canonical.put("timeout_ms", r.timeoutMs());
        byte[] json = Message.of("request").with("request", canonical).toJson();
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(json));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Six characters as {@code ABC-DEF}: about 30 bits, for one request and one decision. */
    static String newCode() {
        StringBuilder b = new StringBuilder(7);
        for (int i = 0; i < 6; i++) {
            if (i == 3) {
                b.append('-');
            }
            b.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        }
        return b.toString();
    }

    /** Case- and dash-insensitive, constant-time comparison of a typed code. */
    static boolean codeMatches(String expected, String typed) {
        if (typed == null) {
            return false;
        }
        String a = expected.replace("-", "");
        String b = typed.replace("-", "").replace(" ", "").toUpperCase(java.util.Locale.ROOT);
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.US_ASCII), b.getBytes(StandardCharsets.US_ASCII));
    }
}

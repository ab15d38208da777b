package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.vault.Names;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuzz test of the request validator (Jazzer; seeds in {@code RunRequestFuzzTestInputs/}, {@code
 * JAZZER_FUZZ=1} fuzzes, docs/testing.md). A run request built from fuzzed fields of fuzzed
 * types is either refused with INVALID or BAD_REQUEST, or accepted within every documented limit;
 * the requester's environment values (which may hold its own credentials) appear in no error
 * message and no {@code toString}.
 */
class RunRequestFuzzTest {

    private static final String CANARY = "CANARY-env-8f3a1c";

    @FuzzTest(maxDuration = "5m")
    void validatesOrRefuses(FuzzedDataProvider data) {
        Message m = Message.of("run");
        String[] keys = {"environment", "argv", "cwd", "env", "reason", "variables", "refs", "timeout_ms",
            "masking", "stdin"};
        for (String key : keys) {
            if (data.consumeInt(0, 7) > 0) {
                m.with(key, plausible(key, data));
            } else {
                m.with(key, anyValue(data, 0));
            }
        }
        RunRequest r;
        try {
            r = RunRequest.from(m);
        } catch (BrokerException e) {
            assertTrue(e.code() == ErrorCode.INVALID || e.code() == ErrorCode.BAD_REQUEST, e.code().wire());
            assertFalse(e.getMessage().contains(CANARY), "an environment value in an error message");
            return;
        }
        assertTrue(Names.isEnvironment(r.environment()));
        assertFalse(r.argv().isEmpty());
        assertTrue(r.argv().size() <= RunRequest.MAX_ARGV);
        assertTrue(r.argv().stream().allMatch(a -> a.length() <= RunRequest.MAX_ARG_CHARS && a.indexOf('\0') < 0));
        assertTrue(r.cwd().startsWith("/") && r.cwd().length() <= RunRequest.MAX_CWD_CHARS);
        assertTrue(r.baseEnvironment().size() <= RunRequest.MAX_ENV);
        assertTrue(r.variables() == null || r.variables().stream().allMatch(Names::isVariable));
        assertTrue(r.refs().size() <= RunRequest.MAX_REFS);
        assertTrue(r.timeoutMs() >= 0);
        assertTrue(r.reason().length() <= RunRequest.MAX_REASON_CHARS);
        assertFalse(r.toString().contains(CANARY), "an environment value in toString");
        assertEquals(r.environments().get(0), r.environment());
    }

    /** A value of the right shape for {@code key}, with fuzzed content. */
    private static Object plausible(String key, FuzzedDataProvider data) {
        return switch (key) {
            case "environment" -> data.consumeBoolean() ? "dev" : data.consumeString(40);
            case "argv", "variables" -> {
                List<String> l = new ArrayList<>();
                int n = data.consumeInt(0, 4);
                for (int i = 0; i < n; i++) {
                    l.add(data.consumeBoolean() ? "TOKEN_" + i : data.consumeString(20));
                }
                yield l;
            }
            case "cwd" -> data.consumeBoolean() ? "/tmp" : data.consumeString(30);
            case "env" -> {
                Map<String, Object> env = new LinkedHashMap<>();
                int n = data.consumeInt(0, 4);
                for (int i = 0; i < n; i++) {
                    String name = data.consumeBoolean() ? "HOME_" + i : data.consumeString(12);
                    env.put(name, data.consumeBoolean() ? CANARY + data.consumeString(4) : anyValue(data, 1));
                }
                yield env;
            }
            case "refs" -> {
                List<Object> l = new ArrayList<>();
                int n = data.consumeInt(0, 3);
                for (int i = 0; i < n; i++) {
                    Map<String, Object> ref = new LinkedHashMap<>();
                    ref.put("name", data.consumeBoolean() ? "DB_URL" : data.consumeString(10));
                    ref.put("environment", data.consumeBoolean() ? "prod" : data.consumeString(10));
                    ref.put("variable", data.consumeBoolean() ? "DATABASE_URL" : anyValue(data, 1));
                    l.add(ref);
                }
                yield l;
            }
            case "timeout_ms" -> data.consumeLong();
            case "masking", "stdin" -> data.consumeBoolean();
            default -> data.consumeString(50);
        };
    }

    /** Any JSON value, nested a little. */
    private static Object anyValue(FuzzedDataProvider data, int depth) {
        switch (data.consumeInt(0, depth > 2 ? 4 : 6)) {
            case 0:
                return null;
            case 1:
                return data.consumeBoolean();
            case 2:
                return data.consumeLong();
            case 3:
                return data.consumeDouble();
            case 4:
                return data.consumeString(30);
            case 5: {
                List<Object> l = new ArrayList<>();
                int n = data.consumeInt(0, 3);
                for (int i = 0; i < n; i++) {
                    l.add(anyValue(data, depth + 1));
                }
                return l;
            }
            default: {
                Map<String, Object> o = new LinkedHashMap<>();
                int n = data.consumeInt(0, 3);
                for (int i = 0; i < n; i++) {
                    o.put(data.consumeString(8), anyValue(data, depth + 1));
                }
                return o;
            }
        }
    }
}

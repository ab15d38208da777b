package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every part of what decides what runs changes the request hash; nothing else does. */
class RequestIdentityTest {

    @TempDir
    Path tmp;

    private RunRequest request(String env, List<String> argv, Map<String, String> requested, List<String> variables,
            List<RunRequest.Ref> refs, long timeout, boolean masking, boolean stdin, String reason) {
        return new RunRequest(env, argv, tmp.toString(), requested, variables, refs, reason, timeout, masking, stdin);
    }

    private String hash(RunRequest r) throws Exception {
        Path cwd = tmp.toRealPath();
        ChildEnvironment env = ChildEnvironment.of(Map.of("PATH", tmp + ":/usr/bin:/bin"), r.baseEnvironment(), cwd);
        return RequestIdentity.hash(r, new Run.Resolved(Executable.resolve(r.argv().get(0), env.variables().get("PATH"), cwd),
                cwd, env));
    }

    @Test
    void eachPartOfTheIdentity_changesTheHash_andTheReasonDoesNot() throws Exception {
        Path tool = tmp.resolve("tool");
        Files.writeString(tool, "#!/bin/sh\necho one\n");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> argv = List.of("tool", "--flag");
        String base = hash(request("dev", argv, Map.of(), List.of("A"), List.of(), 0, true, false, "why"));

        assertEquals(base, hash(request("dev", argv, Map.of(), List.of("A"), List.of(), 0, true, false, "other words")),
                "the reason is the requester's words, not what runs");
        assertEquals(base, hash(request("dev", argv, Map.of("SHLVL", "4", "_", "/x"), List.of("A"), List.of(), 0,
                true, false, "why")), "shell bookkeeping is not part of it");

        Set<String> seen = new HashSet<>(Set.of(base));
        for (RunRequest changed : List.of(
                request("prod", argv, Map.of(), List.of("A"), List.of(), 0, true, false, "why"),
                request("dev", List.of("tool", "--other"), Map.of(), List.of("A"), List.of(), 0, true, false, "why"),
                request("dev", argv, Map.of("NODE_OPTIONS", "--require x"), List.of("A"), List.of(), 0, true, false, "why"),
                request("dev", argv, Map.of(), List.of("A", "B"), List.of(), 0, true, false, "why"),
                request("dev", argv, Map.of(), null, List.of(), 0, true, false, "why"),
                request("dev", argv, Map.of(), List.of("A"), List.of(new RunRequest.Ref("X", "prod", "Y")), 0, true, false, "why"),
                request("dev", argv, Map.of(), List.of("A"), List.of(), 5_000, true, false, "why"),
                request("dev", argv, Map.of(), List.of("A"), List.of(), 0, false, false, "why"),
                request("dev", argv, Map.of(), List.of("A"), List.of(), 0, true, true, "why"))) {
            assertTrue(seen.add(hash(changed)), "a change left the hash as it was: " + changed);
        }

        Files.writeString(tool, "#!/bin/sh\necho two\n");   // the program's content
        assertFalse(seen.contains(hash(request("dev", argv, Map.of(), List.of("A"), List.of(), 0, true, false, "why"))));
        assertNotEquals(base, hash(request("dev", List.of("/bin/echo", "--flag"), Map.of(), List.of("A"), List.of(), 0,
                true, false, "why")), "another program, same arguments");
    }

    @Test
    void theOneTimeCode_isSixCharactersWithoutLookalikes_andMatchesCaseAndDashInsensitively() {
        for (int i = 0; i < 1000; i++) {
            String code = RequestIdentity.newCode();
            assertTrue(code.matches("[A-HJKMNP-Z2-9]{3}-[A-HJKMNP-Z2-9]{3}"), code);
            assertTrue(RequestIdentity.codeMatches(code, code.toLowerCase(java.util.Locale.ROOT).replace("-", " ")));
        }
        assertFalse(RequestIdentity.codeMatches("ABC-DEF", "ABC-DEG"));
        assertFalse(RequestIdentity.codeMatches("ABC-DEF", "ABCDE"));
        assertFalse(RequestIdentity.codeMatches("ABC-DEF", null));
    }
}

package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChildEnvironmentTest {

    @TempDir
    Path tmp;

    static final Map<String, String> BASE = Map.of("PATH", "/usr/bin:/bin", "HOME", "/home/dev", "LANG", "C.UTF-8",
            "BROKERCTL_PASSPHRASE_FILE", "/secret/pass");

    @Test
    void theSameShellTwice_changesNothing_andVolatileVariablesAreDropped() {
        Map<String, String> shell = new java.util.HashMap<>(BASE);
        shell.putAll(Map.of("SHLVL", "3", "_", "/usr/bin/brokerctl", "OLDPWD", "/x", "PWD", "/y", "COLUMNS", "80"));
        ChildEnvironment e = ChildEnvironment.of(BASE, shell, tmp);
        assertEquals(List.of(), e.changes());
        assertEquals(tmp.toString(), e.variables().get("PWD"), "PWD is the run's cwd");
        assertNull(e.variables().get("SHLVL"));
        assertNull(e.variables().get("BROKERCTL_PASSPHRASE_FILE"), "never passed on from the base");
        assertEquals(ChildEnvironment.of(BASE, shell, tmp).variables(), ChildEnvironment.of(BASE, BASE, tmp).variables());
    }

    @Test
    void everyChangeIsListed_andLoaderVariablesAreRisks() {
        ChildEnvironment e = ChildEnvironment.of(BASE, Map.of("NODE_OPTIONS", "--require /tmp/x.js", "FOO", "bar",
                "LD_PRELOAD", "/tmp/x.so", "https_proxy", "http://evil", "BASH_FUNC_ls%%", "() { :; }",
                "BROKERCTL_PASSPHRASE_FILE", "/tmp/p"), tmp);
        Map<String, ChildEnvironment.Change> byName = new java.util.HashMap<>();
        e.changes().forEach(c -> byName.put(c.name(), c));
        assertEquals(java.util.Set.of("NODE_OPTIONS", "FOO", "LD_PRELOAD", "https_proxy", "BASH_FUNC_ls%%"), byName.keySet());
        assertNull(byName.get("FOO").risk());
        assertNotNull(byName.get("NODE_OPTIONS").risk());
        assertNotNull(byName.get("LD_PRELOAD").risk());
        assertNotNull(byName.get("BASH_FUNC_ls%%").risk());
        assertTrue(byName.get("https_proxy").risk().contains("network"));
        assertEquals("bar", e.variables().get("FOO"));
        assertNull(e.variables().get("BROKERCTL_PASSPHRASE_FILE"), "not from the requester either");
        assertEquals("/usr/bin:/bin", e.variables().get("PATH"), "the base stays where not overridden");
        assertFalse(byName.get("NODE_OPTIONS").toString().contains("/tmp/x.js"), "toString names no value");
    }

    @Test
    void aPathWithADirectoryTheRequesterCanWrite_isARisk_aSystemOneIsNot() {
        ChildEnvironment writable = ChildEnvironment.of(BASE, Map.of("PATH", tmp + ":/usr/bin:/bin"), tmp);
        assertTrue(writable.changes().get(0).risk().contains(tmp.toString()), writable.changes().get(0).risk());
        ChildEnvironment relative = ChildEnvironment.of(BASE, Map.of("PATH", "bin:/usr/bin"), tmp);
        assertTrue(relative.changes().get(0).risk().contains("bin (relative)"));
        if (!"root".equals(System.getProperty("user.name"))) {
            assertNull(ChildEnvironment.of(BASE, Map.of("PATH", "/usr/bin"), tmp).changes().get(0).risk());
        }
    }
}

package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When brokerctl asks for the passphrase (README, "which commands ask"): names-only listings come
 * from an unlocked daemon without it, and give what the vault gives; writes still need it; a
 * wrong one typed at a terminal gets {@value Terminal#TRIES} tries; a new one that is too short is
 * refused before it is asked for a second time.
 */
class PassphrasePromptsIT {

    static final String CANARY = "canary-prompts-value-8c1e44";
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;
    Brokerctl b;
    private boolean daemon;

    @BeforeEach
    void setUp() throws Exception {
        b = new Brokerctl(tmp).init();
    }

    @AfterEach
    void tearDown() {
        if (daemon) {
            b.env.put("BROKERCTL_PASSPHRASE_FILE", b.passphraseFile.toString());
            b.run("stop");
        }
        assertFalse(b.transcript.toString().contains(CANARY), "a value reached the output");
        assertFalse(b.transcript.toString().contains(Brokerctl.PASSPHRASE), "the passphrase was printed");
    }

    @Test
    void listings_withAnUnlockedDaemon_needNoPassphrase_giveWhatTheVaultGives_andWritesStillNeedIt() throws Exception {
        assertEquals(0, b.run("env", "create", "dev", "--policy", "auto").exit());
        assertEquals(0, b.run("env", "create", "prod").exit());
        assertEquals(0, b.runWithInput(CANARY.getBytes(StandardCharsets.UTF_8), "set", "dev", "TOKEN",
                "--description", "deploy token").exit());
        Brokerctl.Result vaultList = b.run("list", "--json", "--from-vault");
        Brokerctl.Result vaultEnvs = b.run("env", "list", "--json", "--from-vault");
        Brokerctl.Result vaultText = b.run("list", "dev", "--from-vault");
        assertEquals(0, vaultList.exit(), vaultList.toString());

        // without a daemon and without a passphrase (no file, no terminal) a listing cannot open the vault
        b.env.remove("BROKERCTL_PASSPHRASE_FILE");
        Brokerctl.Result noDaemon = b.run("list");
        assertEquals(1, noDaemon.exit(), noDaemon.toString());
        assertTrue(noDaemon.err().contains("no terminal to read from"), noDaemon.toString());

        b.env.put("BROKERCTL_PASSPHRASE_FILE", b.passphraseFile.toString());
        assertEquals(0, b.run("daemon", "--detach").exit());
        daemon = true;
        b.env.remove("BROKERCTL_PASSPHRASE_FILE");

        Brokerctl.Result list = b.run("list", "--json");
        assertEquals(0, list.exit(), list.toString());
        assertEquals(vaultList.out(), list.out(), "the daemon's listing is the vault's");
        Brokerctl.Result envs = b.run("env", "list", "--json");
        assertEquals(0, envs.exit(), envs.toString());
        assertEquals(vaultEnvs.out(), envs.out());
        Brokerctl.Result text = b.run("list", "dev");
        assertEquals(vaultText.out(), text.out());
        assertTrue(text.out().contains("TOKEN") && text.out().contains("deploy token"), text.toString());
        Brokerctl.Result missing = b.run("list", "nope");
        assertEquals(1, missing.exit(), missing.toString());
        assertTrue(missing.err().contains("'nope' does not exist"), missing.toString());

        // what changes the vault still proves the passphrase, daemon or not
        Brokerctl.Result set = b.runWithInput("another-value-of-12".getBytes(StandardCharsets.UTF_8), "set", "dev", "OTHER");
        assertEquals(1, set.exit(), set.toString());
        assertTrue(set.err().contains("no terminal to read from"), set.toString());
        // and --from-vault opens the vault here, so it asks too
        assertEquals(1, b.run("list", "--from-vault").exit());

        // a locked daemon gives no names: the listing opens the vault itself, which asks
        assertEquals(0, b.run("lock").exit());
        Brokerctl.Result locked = b.run("list");
        assertEquals(1, locked.exit(), locked.toString());
        assertTrue(locked.err().contains("no terminal to read from"), locked.toString());
    }

    @Test
    void aWrongPassphraseAtATerminal_isAskedAgain_threeTriesInAll() throws Exception {
        b.env.remove("BROKERCTL_PASSPHRASE_FILE");
        Tmux tmux = new Tmux(tmp.resolve("tmux.sock"));
        try {
            tmux.start(b, "sh", "-c", b.launcher + " env create dev; echo rc=$?; " + b.launcher
                    + " env create prod; echo rc=$?; exec sleep 600");
            answer(tmux, 1, "wrong passphrase one");
            answer(tmux, 2, "wrong passphrase two");
            answer(tmux, 3, Brokerctl.PASSPHRASE);
            tmux.awaitScreen("rc=0", WAIT);
            String screen = tmux.screen();
            assertTrue(screen.contains("try again (2 tries left)") && screen.contains("try again (1 try left)"), screen);
            assertTrue(screen.contains("created environment dev"), screen);

            for (int i = 4; i <= 6; i++) {
                answer(tmux, i, "still wrong " + i);
            }
            tmux.awaitScreen("rc=1", WAIT);
            screen = tmux.screen();
            assertTrue(screen.contains("wrong passphrase, or a damaged keyslot (3 tries); nothing was done"), screen);
            assertFalse(screen.contains("created environment prod"), screen);
        } finally {
            tmux.kill();
        }
    }

    @Test
    void aNewPassphraseTooShort_isRefusedBeforeTheSecondPrompt() throws Exception {
        Files.delete(b.home.resolve("vault.db"));
        b.env.remove("BROKERCTL_PASSPHRASE_FILE");
        Tmux tmux = new Tmux(tmp.resolve("tmux.sock"));
        try {
            tmux.start(b, "sh", "-c", b.launcher + " init --kdf-memory-mib 19; echo rc=$?; exec sleep 600");
            tmux.awaitScreen("New vault passphrase:", WAIT);
            tmux.type("short");
            tmux.awaitScreen("rc=", WAIT);
            String screen = tmux.screen();
            assertTrue(screen.contains("the passphrase must have at least 8 characters; nothing was changed"), screen);
            assertTrue(screen.contains("rc=2"), screen);
            assertFalse(screen.contains("Repeat it"), "asked a second time: " + screen);
            assertFalse(Files.exists(b.home.resolve("vault.db")));
        } finally {
            tmux.kill();
        }
    }

    /** Waits for the {@code n}th passphrase prompt on the screen, then types {@code line}. */
    private static void answer(Tmux tmux, int n, String line) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (count(tmux.screen(), "Vault passphrase:") < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no passphrase prompt #" + n + "; screen:\n" + tmux.screen());
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
        tmux.type(line);
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}

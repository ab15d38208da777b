package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Handshake;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.crypto.KdfParams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.Base64;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An approver proves a key derived from the vault key against the key the daemon holds, never against whatever
 * file is at the vault's path: the vault-swap attack of a same-user process that has no
 * passphrase but can move files in the broker home.
 */
class ApproverProofTest {

    private static final String ATTACKER_PASSPHRASE = "the attacker's own passphrase";

    @TempDir
    Path tmp;
    DaemonFixture f;

    @AfterEach
    void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void aVaultSwappedInAtThePath_givesNoApproverRights_andTheRealKeyStillWorksAfterwards()
            throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        Path own = tmp.resolve("attacker/vault.db");
        Vault.create(own, ATTACKER_PASSPHRASE.toCharArray(), KdfParams.insecureForTests(256, 1, 1));
        Path aside = Files.createDirectories(tmp.resolve("aside"));

        List<String> moved = move(f.vaultFile.getParent(), aside, "vault.db");
        Files.copy(own, f.vaultFile);
        // the attacker's passphrase opens the file now at the path, to the attacker's key
        byte[] attackerKey = DaemonFixture.approverKey(f.vaultFile, ATTACKER_PASSPHRASE);
        try (BrokerClient agent = f.connect()) {
            BrokerException refused = assertThrows(BrokerException.class, () -> agent.authenticate(
                    Handshake.Role.APPROVER, attackerKey, new SecureRandom()));
            assertEquals(ErrorCode.NOT_AUTHENTIC, refused.code(), "the daemon's proof is over another key");
            assertTrue(refused.getMessage().contains("could not prove it holds your vault's key"), refused.getMessage());
        }
        // a raw client that ignores the daemon's proof and proves its own key anyway is refused
        try (BrokerClient agent = f.connect()) {
            byte[] clientNonce = Handshake.nonce(new SecureRandom());
            Message challenge = agent.call(Message.of("handshake").with("role", "approver")
                    .with("client_nonce", Base64.getEncoder().encodeToString(clientNonce)));
            Handshake h = Handshake.of(Handshake.Role.APPROVER, attackerKey, clientNonce,
                    Base64.getDecoder().decode(challenge.string("daemon_nonce")));
            BrokerException wrong = assertThrows(BrokerException.class, () -> agent.call(Message.of("handshake_finish")
                    .with("client_proof", Base64.getEncoder().encodeToString(h.clientProof()))));
            assertEquals(ErrorCode.NOT_AUTHENTIC, wrong.code());
        }
        try (BrokerClient agent = f.connect()) {
            BrokerException notApprover = assertThrows(BrokerException.class,
                    () -> agent.call(Message.of("pending_list")));
            assertEquals(ErrorCode.NOT_APPROVER, notApprover.code());
        }

        Files.delete(f.vaultFile);
        for (String name : moved) {
            Files.move(aside.resolve(name), f.vaultFile.getParent().resolve(name), StandardCopyOption.ATOMIC_MOVE);
        }
        try (BrokerClient human = f.approver()) {
            assertTrue(human.sealed());
            assertEquals("pending", human.call(Message.of("pending_list")).type());
        }
    }

    @Test
    void aLockedDaemon_holdsNoKey_soTheApproverHandshakeIsRefusedWithTheWayOut() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), false);
        BrokerException locked = assertThrows(BrokerException.class, () -> f.approver());
        assertEquals(ErrorCode.LOCKED, locked.code());
        assertTrue(locked.getMessage().contains("brokerctl unlock"), locked.getMessage());
    }

    @Test
    void thePassphraseOverTheSocket_isRefused_andNamesTheNewWay() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        try (BrokerClient c = f.connect()) {
            for (String type : List.of("authenticate", "unlock")) {
                BrokerException e = assertThrows(BrokerException.class, () -> c.call(Message.of(type),
                        DaemonFixture.PASSPHRASE.getBytes(StandardCharsets.UTF_8)));
                assertEquals(ErrorCode.BAD_REQUEST, e.code());
                assertTrue(e.getMessage().contains("brokerctl approve and brokerctl unlock"), e.getMessage());
            }
            assertEquals(ErrorCode.NOT_APPROVER, assertThrows(BrokerException.class,
                    () -> c.call(Message.of("pending_list"))).code());
        }
    }

    @Test
    void theRightKey_authenticates_againstTheHeldKey_andSealsTheConnection() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        try (BrokerClient c = f.approver()) {
            assertTrue(c.sealed());
            assertEquals("pending", c.call(Message.of("pending_list")).type());
        }
    }

    @Test
    void unlockOverTheSocket_onlyWithTheKeyTheDaemonHeld() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        f.daemon.lock("test");
        // another vault's holder, even with that vault's file at the path, cannot unlock it
        Path own = tmp.resolve("attacker/vault.db");
        Vault.create(own, ATTACKER_PASSPHRASE.toCharArray(), KdfParams.insecureForTests(256, 1, 1));
        try (BrokerClient agent = f.connect();
                dev.brokerctl.vault.ApproverKeys k = Vault.open(own).approverKeys(ATTACKER_PASSPHRASE.toCharArray())) {
            BrokerException e = assertThrows(BrokerException.class,
                    () -> agent.authenticate(Handshake.Role.UNLOCK, k.unlockVerifier(), new SecureRandom()));
            assertEquals(ErrorCode.NOT_AUTHENTIC, e.code());
        }
        assertTrue(f.daemon.isLocked());
        try (BrokerClient human = f.unlockOverSocket()) {
            assertEquals("pending", human.call(Message.of("pending_list")).type(), "an unlock proves the approver too");
        }
        assertTrue(!f.daemon.isLocked());
        BrokerException again = assertThrows(BrokerException.class, () -> f.unlockOverSocket());
        assertEquals(ErrorCode.CONFLICT, again.code());
    }

    private static List<String> move(Path from, Path to, String prefix) throws Exception {
        List<String> names = new ArrayList<>();
        try (var files = Files.list(from)) {
            for (Path p : files.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) {
                Files.move(p, to.resolve(p.getFileName()), StandardCopyOption.ATOMIC_MOVE);
                names.add(p.getFileName().toString());
            }
        }
        return names;
    }
}

package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.crypto.KdfParams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An approver proves the passphrase against the key the daemon holds, never against whatever
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
    void aVaultSwappedInAtThePath_givesNoApproverRights_andTheRealPassphraseStillWorksAfterwards()
            throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        Path own = tmp.resolve("attacker/vault.db");
        Vault.create(own, ATTACKER_PASSPHRASE.toCharArray(), KdfParams.insecureForTests(256, 1, 1));
        Path aside = Files.createDirectories(tmp.resolve("aside"));

        List<String> moved = move(f.vaultFile.getParent(), aside, "vault.db");
        Files.copy(own, f.vaultFile);
        try (BrokerClient agent = f.connect()) {
            BrokerException refused = assertThrows(BrokerException.class, () -> agent.call(
                    Message.of("authenticate"), ATTACKER_PASSPHRASE.getBytes(StandardCharsets.UTF_8)));
            assertEquals(ErrorCode.VAULT_DAMAGED, refused.code());
            assertTrue(refused.getMessage().contains("not the vault this daemon unlocked"), refused.getMessage());
            BrokerException notApprover = assertThrows(BrokerException.class,
                    () -> agent.call(Message.of("pending_list")));
            assertEquals(ErrorCode.NOT_APPROVER, notApprover.code());
        }
        try (BrokerClient human = f.connect()) {
            BrokerException wrong = assertThrows(BrokerException.class, () -> human.call(
                    Message.of("authenticate"), DaemonFixture.PASSPHRASE.getBytes(StandardCharsets.UTF_8)));
            assertEquals(ErrorCode.WRONG_PASSPHRASE, wrong.code(), "the swapped-in file is not the human's");
        }

        Files.delete(f.vaultFile);
        for (String name : moved) {
            Files.move(aside.resolve(name), f.vaultFile.getParent().resolve(name), StandardCopyOption.ATOMIC_MOVE);
        }
        try (BrokerClient human = f.approver()) {
            assertEquals("pending", human.call(Message.of("pending_list")).type());
        }
    }

    @Test
    void aLockedDaemon_holdsNoKey_soAuthenticateIsRefusedWithTheWayOut() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), false);
        try (BrokerClient c = f.connect()) {
            BrokerException locked = assertThrows(BrokerException.class, () -> c.call(
                    Message.of("authenticate"), DaemonFixture.PASSPHRASE.getBytes(StandardCharsets.UTF_8)));
            assertEquals(ErrorCode.LOCKED, locked.code());
            assertTrue(locked.getMessage().contains("brokerctl unlock"), locked.getMessage());
        }
    }

    @Test
    void theRightPassphrase_authenticates_againstTheHeldKey() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        try (BrokerClient c = f.approver()) {
            assertEquals("pending", c.call(Message.of("pending_list")).type());
        }
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

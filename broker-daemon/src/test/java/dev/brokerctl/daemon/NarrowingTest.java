package dev.brokerctl.daemon;

import static dev.brokerctl.daemon.DaemonProtocolTest.approve;
import static dev.brokerctl.daemon.DaemonProtocolTest.collect;
import static dev.brokerctl.daemon.DaemonProtocolTest.runMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.vault.SecretValue;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A human narrows a request for all of an environment's variables to the names the command
 * needs: only those are injected, the requester is told, and the audit records it. Only such a
 * request can be narrowed, only to names the environment has, and only by approving once.
 */
class NarrowingTest {

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
    void approvingWithNames_injectsOnlyThose_tellsTheRequester_andIsAudited() throws Exception {
        f = new DaemonFixture(tmp);
        try (VaultSession s = Vault.open(f.vaultFile).unlock(DaemonFixture.PASSPHRASE.toCharArray())) {
            s.put("prod", "OTHER", SecretValue.copyOf("other-value-5c1d".getBytes(StandardCharsets.UTF_8)), "d");
        }
        f.start(Duration.ofSeconds(120), true);
        try (BrokerClient requester = f.connect(); BrokerClient approver = f.approver()) {
            requester.send(runMessage("prod", List.of("sh", "-c", "echo \"TOKEN=${TOKEN:-unset} OTHER=${OTHER:-unset}\"")));
            assertEquals("pending", Message.parse(requester.receive().payload()).type());
            Message pending = approver.call(Message.of("pending_list")).messages("runs").get(0);
            assertTrue(pending.bool("all_variables", false));
            assertEquals(List.of("OTHER", "TOKEN"), pending.strings("variables").stream().sorted().toList());

            for (Message bad : List.of(
                    approve(pending).with("variables", List.of("TOKEN", "MISSING")),
                    approve(pending).with("variables", List.of()),
                    approve(pending).with("decision", "grant").with("variables", List.of("TOKEN")))) {
                BrokerException e = assertThrows(BrokerException.class, () -> approver.call(bad));
                assertEquals(ErrorCode.INVALID, e.code(), e.getMessage());
            }
            approver.call(approve(pending).with("variables", List.of("TOKEN")));
            DaemonProtocolTest.RunResult r = collect(requester);
            assertEquals("TOKEN=[MASKED:TOKEN] OTHER=unset\n", r.stdout());
            assertTrue(r.types().contains("started"), r.types().toString());
        }
        try (VaultSession s = Vault.open(f.vaultFile).unlock(DaemonFixture.PASSPHRASE.toCharArray())) {
            assertTrue(s.auditEntries(null, "prod").stream().anyMatch(e -> e.type() == AuditEvent.RUN_DECIDED
                    && List.of("TOKEN").equals(e.details().get("variables"))), "the decision records the narrowing");
        }
    }

    @Test
    void aRequestThatNamesItsVariables_cannotBeNarrowed() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        try (BrokerClient requester = f.connect(); BrokerClient approver = f.approver()) {
            requester.send(runMessage("prod", List.of("sh", "-c", "echo \"${TOKEN:-unset}\"")).with("variables", List.of("TOKEN")));
            assertEquals("pending", Message.parse(requester.receive().payload()).type());
            Message pending = approver.call(Message.of("pending_list")).messages("runs").get(0);
            BrokerException e = assertThrows(BrokerException.class,
                    () -> approver.call(approve(pending).with("variables", List.of("TOKEN"))));
            assertEquals(ErrorCode.INVALID, e.code());
            assertTrue(e.getMessage().contains("only a request for all"), e.getMessage());
            approver.call(approve(pending));   // the plain approval still works: the refusal changed nothing
            assertEquals("[MASKED:TOKEN]\n", collect(requester).stdout());
        }
    }

    @Test
    void aRequestWithRefs_cannotBeNarrowed_forTheRefsWouldStillBeInjected() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        try (BrokerClient requester = f.connect(); BrokerClient approver = f.approver()) {
            requester.send(runMessage("prod", List.of("sh", "-c", "echo \"${TOKEN:+TOKEN} ${DEVTOKEN:+DEVTOKEN}\""))
                    .with("refs", List.of(java.util.Map.of("name", "DEVTOKEN", "environment", "dev", "variable", "TOKEN"))));
            assertEquals("pending", Message.parse(requester.receive().payload()).type());
            Message pending = approver.call(Message.of("pending_list")).messages("runs").get(0);
            BrokerException e = assertThrows(BrokerException.class,
                    () -> approver.call(approve(pending).with("variables", List.of("TOKEN"))));
            assertEquals(ErrorCode.INVALID, e.code());
            assertTrue(e.getMessage().contains("cannot be narrowed"), e.getMessage());
            approver.call(approve(pending));   // approved as it stands, it gets what it showed: both
            assertEquals("TOKEN DEVTOKEN\n", collect(requester).stdout());
        }
    }
}

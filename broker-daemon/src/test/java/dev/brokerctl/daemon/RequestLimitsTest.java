package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Requests past a documented limit, or with an environment no process can have, get an error at once. */
class RequestLimitsTest {

    @TempDir
    Path tmp;
    DaemonFixture f;

    @AfterEach
    void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    private Message refusal(Message run) throws Exception {
        try (BrokerClient c = f.connect()) {
            c.send(run);
            return assertTimeoutPreemptively(Duration.ofSeconds(1), () -> DaemonProtocolTest.collect(c).last());
        }
    }

    private Message withEnv(Map<String, String> env) {
        return Message.of("run").with("environment", "prod").with("argv", List.of("true"))
                .with("cwd", System.getProperty("user.dir")).with("env", env);
    }

    @Test
    void overLimitArgvAndBadEnvironments_getAnErrorWithinASecond_inAPromptEnvironment() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        List<String> argv = new ArrayList<>();
        for (int i = 0; i <= RunRequest.MAX_ARGV; i++) {
            argv.add("x");
        }
        Message tooMany = refusal(DaemonProtocolTest.runMessage("prod", argv));
        assertEquals("invalid", tooMany.string("code"));
        assertTrue(tooMany.string("message").contains("the limit is " + RunRequest.MAX_ARGV), tooMany.string("message"));

        Map<String, String> huge = new HashMap<>();
        for (int i = 0; i <= RunRequest.MAX_ENV; i++) {
            huge.put("V" + i, "x");
        }
        for (Map<String, String> bad : List.of(Map.of("A=B", "x"), Map.of("NUL\0NAME", "x"), Map.of("", "x"),
                Map.of("VALUE", "a\0b"), huge)) {
            Message refused = refusal(withEnv(bad));
            assertEquals("error", refused.type(), refused.asMap().toString());
            assertEquals("invalid", refused.string("code"), refused.string("message"));
        }
        Message tooLong = refusal(DaemonProtocolTest.runMessage("prod", List.of("true"))
                .with("reason", "r".repeat(RunRequest.MAX_REASON_CHARS + 1)));
        assertEquals("invalid", tooLong.string("code"));

        // the control: a request within every limit reaches the human (here: pending)
        try (BrokerClient c = f.connect()) {
            c.send(withEnv(Map.of("PATH", System.getenv("PATH"), "OK_NAME", "fine")));
            assertEquals("pending", Message.parse(c.receive().payload()).type());
        }
    }

    @Test
    void aVariableRequest_showsTheTargetsPolicy_andTheVerifiedRequester() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        try (BrokerClient agent = f.connect(); BrokerClient approver = f.approver()) {
            agent.send(Message.of("request_variable").with("environment", "dev").with("name", "NEW_ONE")
                    .with("description", "same value as prod/TOKEN"));
            assertEquals("pending_variable", Message.parse(agent.receive().payload()).type());
            Message v = approver.call(Message.of("pending_list")).messages("variables").get(0);
            assertEquals("auto", v.string("policy"));
            assertEquals(ProcessHandle.current().pid(), v.message("verified").number("pid", -1));
            assertEquals("test", v.message("claimed").string("name"));
        }
    }

    @Test
    void variableRequests_countAgainstTheRequestersLimits_withRuns() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        List<BrokerClient> open = new java.util.ArrayList<>();
        long first = -1;
        try {
            // one requester (this JVM's pid), a new name and description on every connection: the
            // first MAX_PENDING_PER_REQUESTER reach the human
            for (int i = 0; i < Prompts.MAX_PENDING_PER_REQUESTER; i++) {
                BrokerClient c = f.connect();
                open.add(c);
                c.send(Message.of("request_variable").with("environment", "dev").with("name", "NEW_" + i)
                        .with("description", "description " + i));
                Message pending = Message.parse(c.receive().payload());
                assertEquals("pending_variable", pending.type());
                if (i == 0) {
                    first = pending.number("request_id", -1);
                }
            }
            BrokerClient next = f.connect();
            open.add(next);
            next.send(Message.of("request_variable").with("environment", "dev").with("name", "NEW_X")
                    .with("description", "yet another"));
            Message refused = Message.parse(next.receive().payload());
            assertEquals("error", refused.type(), refused.asMap().toString());
            assertEquals("too_many", refused.string("code"));
            assertTrue(refused.string("message").contains("already has 3 requests waiting for a human"),
                    refused.string("message"));
            // a run of the same requester waits behind them too
            Message run = refusal(DaemonProtocolTest.runMessage("prod", List.of("true")));
            assertTrue(run.asMap().toString().contains("already has 3 requests waiting"), run.asMap().toString());
            // once the human has answered one, the requester may ask again
            try (BrokerClient approver = f.approver()) {
                approver.call(Message.of("decline_variable").with("request_id", first).with("message", "no"));
            }
            assertEquals("variable_declined", Message.parse(open.get(0).receive().payload()).type());
            next.send(Message.of("request_variable").with("environment", "dev").with("name", "NEW_X")
                    .with("description", "yet another"));
            assertEquals("pending_variable", Message.parse(next.receive().payload()).type());
        } finally {
            for (BrokerClient c : open) {
                c.close();
            }
        }
    }
}

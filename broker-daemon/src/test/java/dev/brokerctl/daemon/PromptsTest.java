package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PromptsTest {

    private static final Instant T0 = Instant.parse("2026-12-01T12:00:00Z");

    private static Run run(long id, long pid, String hash) {
        RunRequest q = new RunRequest("prod", List.of("true"), "/", Map.of(), List.of(), List.of(), "", 0, true, false);
        Run r = new Run(id, q, new Run.Requester(new Peer(pid, 1000, "/x", "", null), "c", "1", pid), T0);
        r.identify(null, hash, "ABC-DEF");
        return r;
    }

    @Test
    void aDeniedRequest_isRefusedWithTheHumansMessage_forTenMinutes_andOthersStillAsk() {
        Prompts p = new Prompts();
        Run first = run(1, 10, "h1");
        assertNull(p.refusal(first, T0));
        p.decided(first, new Decision(Decision.Kind.DENIED, "not on a Friday", "console"), T0);

        Decision again = p.refusal(run(2, 10, "h1"), T0.plusSeconds(60));
        assertNotNull(again);
        assertEquals(Decision.Kind.DENIED, again.kind());
        assertTrue(again.message().contains("not on a Friday"), again.message());
        assertTrue(again.message().contains("1m ago"), again.message());
        assertNull(p.refusal(run(3, 10, "h2"), T0.plusSeconds(60)), "another request is asked");
        assertNotNull(p.refusal(run(5, 99, "h1"), T0.plus(Prompts.DENIAL_MEMORY).minusSeconds(1)), "any requester");
        assertNull(p.refusal(run(6, 10, "h1"), T0.plus(Prompts.DENIAL_MEMORY)), "forgotten after ten minutes");
    }

    @Test
    void aTimeoutOrApproval_isNotRemembered() {
        Prompts p = new Prompts();
        Run r = run(1, 10, "h");
        assertNull(p.refusal(r, T0));
        p.decided(r, new Decision(Decision.Kind.TIMED_OUT, "", "timeout"), T0);
        assertNull(p.refusal(run(2, 10, "h"), T0));
        p.decided(r, null, T0);
        assertNull(p.refusal(run(3, 10, "h"), T0));
    }

    @Test
    void oneRequester_hasAtMostThreeWaiting_andTwentyAskedPerWindow() {
        // a refusal that lets a request through has already counted it: parallel requests of one
        // requester cannot all pass the check before any of them is counted
        Prompts p = new Prompts();
        for (int i = 0; i < Prompts.MAX_PENDING_PER_REQUESTER; i++) {
            Run r = run(i, 10, "w" + i);
            assertNull(p.refusal(r, T0));
        }
        Decision full = p.refusal(run(9, 10, "w9"), T0);
        assertNotNull(full);
        assertTrue(full.message().contains("already has 3 requests waiting"), full.message());
        assertNull(p.refusal(run(10, 11, "w10"), T0), "another requester may still ask");
        p.decided(run(0, 10, "w0"), new Decision(Decision.Kind.APPROVED, "", "c"), T0);
        assertNull(p.refusal(run(11, 10, "w11"), T0), "one slot free again");

        Prompts rate = new Prompts();
        for (int i = 0; i < Prompts.MAX_PROMPTS_PER_WINDOW; i++) {
            Run r = run(100 + i, 20, "r" + i);
            assertNull(rate.refusal(r, T0.plusSeconds(i)), "prompt " + i);
            rate.decided(r, new Decision(Decision.Kind.APPROVED, "", "c"), T0.plusSeconds(i));
        }
        Decision tooOften = rate.refusal(run(200, 20, "r-next"), T0.plusSeconds(30));
        assertNotNull(tooOften);
        assertTrue(tooOften.message().contains("asked the human 20 times"), tooOften.message());
        assertNull(rate.refusal(run(201, 20, "r-later"), T0.plus(Prompts.WINDOW).plusSeconds(1)), "the window moved on");
    }

    @Test
    void allRequestersTogether_haveAtMost32Waiting() {
        Prompts p = new Prompts();
        for (int i = 0; i < Prompts.MAX_PENDING; i++) {
            Run r = run(i, 1000 + i, "g" + i);
            assertNull(p.refusal(r, T0));
        }
        Decision full = p.refusal(run(99, 5000, "g99"), T0);
        assertNotNull(full);
        assertTrue(full.message().startsWith("32 requests already wait"), full.message());
    }

    @Test
    void admit_countsAtOnce_andEndedFreesTheSlot_sharedWithRuns() {
        Prompts p = new Prompts();
        for (int i = 0; i < Prompts.MAX_PENDING_PER_REQUESTER; i++) {
            assertNull(p.admit(40, T0), "variable request " + i);
        }
        String full = p.admit(40, T0);
        assertNotNull(full);
        assertTrue(full.contains("already has 3 requests waiting"), full);
        assertNotNull(p.refusal(run(1, 40, "v"), T0), "a run of the same requester too");
        assertNull(p.admit(41, T0), "another requester");
        p.ended(40);
        Run two = run(2, 40, "v");
        assertNull(p.refusal(two, T0), "one slot free again, and the run takes it");
        assertNotNull(p.admit(40, T0), "full again");
        p.decided(two, null, T0);
        assertNull(p.admit(40, T0));
        assertNotNull(p.admit(40, T0));
        for (int i = 0; i < 3; i++) {
            p.ended(40);
        }
        p.ended(40);   // more ends than requests: never below nothing
        for (int i = 0; i < Prompts.MAX_PENDING_PER_REQUESTER; i++) {
            assertNull(p.admit(40, T0.plusSeconds(1)), "again " + i);
        }
        assertNotNull(p.admit(40, T0.plusSeconds(1)));
    }
}

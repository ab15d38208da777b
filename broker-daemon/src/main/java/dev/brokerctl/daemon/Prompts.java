package dev.brokerctl.daemon;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Keeps a requester from wearing the human down. A request identical (same request hash) to one
 * the human denied in the last {@link #DENIAL_MEMORY} is refused at once with the human's own
 * message; one requester (its verified pid) may have at most {@link #MAX_PENDING_PER_REQUESTER}
 * requests waiting and may put at most {@link #MAX_PROMPTS_PER_WINDOW} before the human per
 * {@link #WINDOW}; all requesters together at most {@link #MAX_PENDING}. A request for a new
 * variable ({@code request_variable}) counts against the same limits as a run.
 */
final class Prompts {

    static final Duration DENIAL_MEMORY = Duration.ofMinutes(10);
    static final int MAX_PENDING_PER_REQUESTER = 3;
    static final int MAX_PROMPTS_PER_WINDOW = 20;
    static final Duration WINDOW = Duration.ofMinutes(10);
    static final int MAX_PENDING = 32;

    private record Denial(Instant at, String message) {
    }

    private final Map<String, Denial> denials = new LinkedHashMap<>();
    private final Map<Long, Integer> pending = new HashMap<>();
    private final Map<Long, Deque<Instant>> asked = new HashMap<>();
    private int pendingTotal;

    /**
     * A decision that refuses {@code run} without asking the human, or null to ask: then the
     * request already counts as put before the human (no other request in between), and
     * {@link #decided} must follow whatever happens.
     */
    synchronized Decision refusal(Run run, Instant now) {
        forgetBefore(now);
        Denial d = denials.get(run.requestHash());
        if (d != null) {
            return new Decision(Decision.Kind.DENIED, "the human denied this exact request "
                    + dev.brokerctl.protocol.Durations.format(Duration.between(d.at(), now).withNanos(0))
                    + " ago" + (d.message().isEmpty() ? "" : ": " + d.message())
                    + "; it is not asked again for " + dev.brokerctl.protocol.Durations.format(DENIAL_MEMORY), "denied before");
        }
        String limit = admit(run.requester().peer().pid(), now);
        return limit == null ? null : new Decision(Decision.Kind.DENIED, limit, "limit");
    }

    /**
     * Why requester {@code who} (a verified pid) may not put another request, of a run or of a
     * variable, before the human now; null when it may. Runs and variable requests count together:
     * both take the same human's attention.
     */
    synchronized String limit(long who, Instant now) {
        forgetBefore(now);
        if (pendingTotal >= MAX_PENDING) {
            return MAX_PENDING + " requests already wait for a human; try again once they are decided";
        }
        if (pending.getOrDefault(who, 0) >= MAX_PENDING_PER_REQUESTER) {
            return "this requester already has " + MAX_PENDING_PER_REQUESTER
                    + " requests waiting for a human; wait for them to be decided";
        }
        Deque<Instant> times = asked.get(who);
        if (times != null && times.size() >= MAX_PROMPTS_PER_WINDOW) {
            return "this requester asked the human " + MAX_PROMPTS_PER_WINDOW + " times in the last "
                    + dev.brokerctl.protocol.Durations.format(WINDOW) + "; wait before asking again";
        }
        return null;
    }

    /** {@link #limit}, and when there is none, {@link #asked} at once (no other request in between). */
    synchronized String admit(long who, Instant now) {
        String limit = limit(who, now);
        if (limit == null) {
            asked(who, now);
        }
        return limit;
    }

    /** Requester {@code who} put a request before the human. */
    private void asked(long who, Instant now) {
        pending.merge(who, 1, Integer::sum);
        pendingTotal++;
        asked.computeIfAbsent(who, k -> new ArrayDeque<>()).add(now);
    }

    /** A request of {@code who}'s no longer waits for the human. */
    synchronized void ended(long who) {
        pending.computeIfPresent(who, (k, n) -> n > 1 ? n - 1 : null);
        pendingTotal = Math.max(0, pendingTotal - 1);
    }

    /** @param d the human's decision, or null when the wait ended otherwise */
    synchronized void decided(Run run, Decision d, Instant now) {
        ended(run.requester().peer().pid());
        if (d != null && d.kind() == Decision.Kind.DENIED) {
            denials.put(run.requestHash(), new Denial(now, d.message()));
        }
    }

    private void forgetBefore(Instant now) {
        for (Iterator<Denial> it = denials.values().iterator(); it.hasNext(); ) {
            if (Duration.between(it.next().at(), now).compareTo(DENIAL_MEMORY) >= 0) {
                it.remove();
            }
        }
        for (Iterator<Deque<Instant>> it = asked.values().iterator(); it.hasNext(); ) {
            Deque<Instant> times = it.next();
            while (!times.isEmpty() && Duration.between(times.peekFirst(), now).compareTo(WINDOW) >= 0) {
                times.pollFirst();
            }
            if (times.isEmpty()) {
                it.remove();
            }
        }
    }
}

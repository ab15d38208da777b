package dev.brokerctl.daemon;

import dev.brokerctl.protocol.Durations;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Requests from an agent for a variable that does not exist yet. A human answers in an approver
 * console: the value goes from the console to the vault, never back to the requester.
 */
final class VariableRequests {

    enum Outcome { PROVIDED, DECLINED, TIMED_OUT, CANCELLED }

    record Answer(Outcome outcome, String message) {
    }

    /** {@code policy}: the target environment's, when asked (an auto one lets the requester use the value freely). */
    record Request(long id, String environment, String name, String description, String policy,
            Run.Requester requester, Instant requestedAt, CompletableFuture<Answer> answer) {

        @Override
        public String toString() {
            return "VariableRequest[" + id + " " + environment + "/" + name + "]";
        }
    }

    /** A request the human declined is not put before them again, unchanged, for this long. */
    static final Duration DECLINE_MEMORY = Duration.ofMinutes(10);

    private record Declined(Instant at, String message) {
    }

    private final Duration timeout;
    private final Map<Long, Request> pending = new LinkedHashMap<>();
    /** By environment, name and description. */
    private final Map<List<String>, Declined> declined = new LinkedHashMap<>();

    VariableRequests(Duration timeout) {
        this.timeout = timeout;
    }

    Duration timeout() {
        return timeout;
    }

    synchronized Request submit(long id, String environment, String name, String description, String policy,
            Run.Requester requester, Instant now) {
        CompletableFuture<Answer> f = new CompletableFuture<>();
        Request r = new Request(id, environment, name, description, policy, requester, now, f);
        pending.put(id, r);
        f.completeOnTimeout(new Answer(Outcome.TIMED_OUT, "no answer within " + Durations.format(timeout)),
                timeout.toMillis(), TimeUnit.MILLISECONDS);
        f.whenComplete((a, e) -> remove(id));
        return r;
    }

    private synchronized void remove(long id) {
        pending.remove(id);
    }

    synchronized Request get(long id) {
        return pending.get(id);
    }

    synchronized List<Request> list() {
        return new ArrayList<>(pending.values());
    }

    synchronized int size() {
        return pending.size();
    }

    /** The human declined {@code r}: the same request is answered with this for {@link #DECLINE_MEMORY}. */
    synchronized void declined(Request r, String message, Instant now) {
        declined.put(List.of(r.environment(), r.name(), r.description()), new Declined(now, message));
    }

    /**
     * The answer to give at once when the human declined this very request (same environment,
     * name and description) within {@link #DECLINE_MEMORY}; null to ask.
     */
    synchronized String earlierDecline(String environment, String name, String description, Instant now) {
        declined.values().removeIf(d -> Duration.between(d.at(), now).compareTo(DECLINE_MEMORY) >= 0);
        Declined d = declined.get(List.of(environment, name, description));
        if (d == null) {
            return null;
        }
        return "the human declined this request " + Durations.format(Duration.between(d.at(), now).withNanos(0))
                + " ago" + (d.message().isEmpty() ? "" : ": " + d.message()) + "; it is not asked again unchanged for "
                + Durations.format(DECLINE_MEMORY);
    }

    void cancelAll(String why) {
        List<Request> all;
        synchronized (this) {
            all = new ArrayList<>(pending.values());
        }
        all.forEach(r -> r.answer().complete(new Answer(Outcome.CANCELLED, why)));
    }
}

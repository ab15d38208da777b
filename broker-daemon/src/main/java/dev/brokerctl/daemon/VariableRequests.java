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

    private final Duration timeout;
    private final Map<Long, Request> pending = new LinkedHashMap<>();

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

    void cancelAll(String why) {
        List<Request> all;
        synchronized (this) {
            all = new ArrayList<>(pending.values());
        }
        all.forEach(r -> r.answer().complete(new Answer(Outcome.CANCELLED, why)));
    }
}

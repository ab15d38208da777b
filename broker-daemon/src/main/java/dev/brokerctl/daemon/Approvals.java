package dev.brokerctl.daemon;

import dev.brokerctl.protocol.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs waiting for a human. The first decision wins; a request nobody decides within the approval
 * timeout is denied. Consoles (a later issue) and the protocol's {@code decide} both end here.
 */
final class Approvals {

    private final Duration timeout;
    private final Map<Long, Pending> pending = new LinkedHashMap<>();

    record Pending(Run run, CompletableFuture<Decision> decision) {
    }

    Approvals(Duration timeout) {
        this.timeout = timeout;
    }

    Duration timeout() {
        return timeout;
    }

    synchronized CompletableFuture<Decision> submit(Run run) {
        CompletableFuture<Decision> f = new CompletableFuture<>();
        pending.put(run.id(), new Pending(run, f));
        f.completeOnTimeout(new Decision(Decision.Kind.TIMED_OUT,
                "no approval within " + Durations.format(timeout), "timeout"),
                timeout.toMillis(), TimeUnit.MILLISECONDS);
        f.whenComplete((d, e) -> remove(run.id()));
        return f;
    }

    private synchronized void remove(long id) {
        pending.remove(id);
    }

    synchronized List<Run> list() {
        List<Run> out = new ArrayList<>();
        pending.values().forEach(p -> out.add(p.run()));
        return out;
    }

    synchronized int size() {
        return pending.size();
    }

    /** @return false when the run is not (or no longer) pending */
    boolean decide(long runId, Decision decision) {
        Pending p;
        synchronized (this) {
            p = pending.get(runId);
        }
        return p != null && p.decision().complete(decision);
    }

    /** Denies everything still pending (daemon stopping or locking). */
    void cancelAll(String why) {
        List<Pending> all;
        synchronized (this) {
            all = new ArrayList<>(pending.values());
        }
        all.forEach(p -> p.decision().complete(new Decision(Decision.Kind.CANCELLED, why, "daemon")));
    }
}

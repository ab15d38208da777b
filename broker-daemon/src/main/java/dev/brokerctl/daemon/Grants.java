package dev.brokerctl.daemon;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Time-limited permissions a human granted: the exact request (environment, argv, cwd, variable
 * set, references), by its hash, runs without a prompt until the grant expires. A request that
 * differs in any argv element has another hash and prompts again. Kept in memory: a daemon
 * restart or {@code brokerctl lock} forgets every grant.
 */
final class Grants {

    /** Longest grant a human may give. */
    static final Duration MAX = Duration.ofHours(8);
    static final Duration DEFAULT = Duration.ofMinutes(15);

    record Grant(long id, String requestHash, RunRequest request, Instant createdAt, Instant expiresAt,
            String grantedBy) {

        @Override
        public String toString() {
            return "Grant[" + id + " " + request + " until " + expiresAt + "]";
        }
    }

    private final Clock clock;
    private final Map<Long, Grant> grants = new LinkedHashMap<>();

    Grants(Clock clock) {
        this.clock = clock;
    }

    synchronized Grant add(long id, String requestHash, RunRequest request, Duration length, String grantedBy) {
        Instant now = clock.instant();
        Grant g = new Grant(id, requestHash, request, now, now.plus(length), grantedBy);
        grants.put(id, g);
        return g;
    }

    /** The live grant covering exactly this request, if any. */
    synchronized Grant match(String requestHash) {
        prune();
        for (Grant g : grants.values()) {
            if (g.requestHash().equals(requestHash)) {
                return g;
            }
        }
        return null;
    }

    synchronized List<Grant> live() {
        prune();
        return new ArrayList<>(grants.values());
    }

    synchronized boolean revoke(long id) {
        return grants.remove(id) != null;
    }

    synchronized int revokeAll() {
        int n = grants.size();
        grants.clear();
        return n;
    }

    private void prune() {
        Instant now = clock.instant();
        for (Iterator<Grant> it = grants.values().iterator(); it.hasNext();) {
            if (!it.next().expiresAt().isAfter(now)) {
                it.remove();
            }
        }
    }
}

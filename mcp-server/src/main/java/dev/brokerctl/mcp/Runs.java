package dev.brokerctl.mcp;

import dev.brokerctl.protocol.Workers;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The runs requested in this session, by id: the daemon's run id once known (the number the human
 * sees), and the local id the run had before the daemon answered. Settled runs beyond
 * {@link #KEEP} are forgotten oldest first, so a long session stays bounded (each run keeps up
 * to 128 KiB of output).
 */
final class Runs {

    static final int KEEP = 100;

    private final Workers readers = new Workers("mcp-reader");
    private final AtomicLong localIds = new AtomicLong();
    private final Map<String, RunRecord> byId = new LinkedHashMap<>();
    private final List<RunRecord> order = new ArrayList<>();
    private boolean closed;

    /** Threads that read the daemon's answers, for runs and for variable requests. */
    Workers readers() {
        return readers;
    }

    String nextLocalId() {
        return "local-" + localIds.incrementAndGet();
    }

    /** Adds a run; false when the session has ended (the caller closes the run). */
    synchronized boolean add(RunRecord run) {
        if (closed) {
            return false;
        }
        byId.put(run.localId(), run);
        order.add(run);
        if (order.size() > KEEP) {
            for (Iterator<RunRecord> it = order.iterator(); it.hasNext() && order.size() > KEEP;) {
                RunRecord old = it.next();
                if (old.settled()) {
                    it.remove();
                    byId.values().removeIf(r -> r == old);
                }
            }
        }
        return true;
    }

    synchronized void alias(RunRecord run, long daemonId) {
        if (order.contains(run)) {
            byId.put(Long.toString(daemonId), run);
        }
    }

    /** The run named by a tool's {@code run_id}: the daemon's number (as number or string) or a local id. */
    synchronized RunRecord find(Object runId) {
        String key;
        if (runId instanceof Number n) {
            try {
                key = new BigDecimal(n.toString()).stripTrailingZeros().toPlainString();
            } catch (NumberFormatException e) {
                return null;
            }
        } else if (runId instanceof String s) {
            key = s.trim();
            if (key.matches("[0-9]{1,18}")) {
                key = Long.toString(Long.parseLong(key));   // "007" is run 7
            }
        } else {
            return null;
        }
        return byId.get(key);
    }

    /** Ids for a message, newest first. */
    synchronized List<String> ids() {
        List<String> ids = new ArrayList<>();
        for (int i = order.size() - 1; i >= 0 && ids.size() < 10; i--) {
            ids.add(String.valueOf(order.get(i).runId()));
        }
        return ids;
    }

    /** Ends every run's connection: the daemon kills what still runs and withdraws what waits. */
    void closeAll() {
        List<RunRecord> all;
        synchronized (this) {
            closed = true;
            all = new ArrayList<>(order);
        }
        for (RunRecord r : all) {
            r.close();
        }
    }

    synchronized int size() {
        return order.size();
    }
}

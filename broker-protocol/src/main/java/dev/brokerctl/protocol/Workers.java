package dev.brokerctl.protocol;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Daemon threads for tasks that would each get a thread of their own (the daemon's connections,
 * runs and output pumps; the MCP server's run readers). Unbounded like a thread per task, but an
 * idle thread is reused for a minute instead of a new one started for every task. Each task runs
 * under its own name, as it would on a thread of its own, so log lines and thread dumps say what
 * a thread does.
 */
public final class Workers {

    private final ExecutorService pool;

    /** @param prefix names idle threads: {@code prefix-1}, {@code prefix-2}, ... */
    public Workers(String prefix) {
        AtomicLong n = new AtomicLong();
        pool = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Runs {@code task} on a pooled thread named {@code name} while it runs. */
    public Future<?> submit(String name, Runnable task) {
        return pool.submit(() -> {
            Thread t = Thread.currentThread();
            String idle = t.getName();
            t.setName(name);
            try {
                task.run();
            } finally {
                t.setName(idle);
            }
        });
    }

    /** As {@link #submit} without a future. */
    public void execute(String name, Runnable task) {
        submit(name, task);
    }

    /** No new tasks; running ones go on (connections and runs end on their own). */
    public void shutdown() {
        pool.shutdown();
    }
}

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
 * idle thread is reused for a while (a minute by default; the daemon's: 5 s) instead of a new one
 * started for every task. What bounds the daemon's threads is its connection limits. Each task runs
 * under its own name, as it would on a thread of its own, so log lines and thread dumps say what
 * a thread does. Never shut down (it would refuse tasks; a run must always get its output
 * pumps): idle threads end on their own, and they are daemon threads.
 */
public final class Workers {

    private final ExecutorService pool;

    /** @param prefix names idle threads: {@code prefix-1}, {@code prefix-2}, ... */
    public Workers(String prefix) {
        this(prefix, java.time.Duration.ofSeconds(60));
    }

    /**
     * @param keepAlive how long an idle thread waits for another task before it ends: after a
     *     burst the thread count is back where it was this long after the last task ended
     */
    public Workers(String prefix, java.time.Duration keepAlive) {
        AtomicLong n = new AtomicLong();
        pool = new ThreadPoolExecutor(0, Integer.MAX_VALUE, keepAlive.toMillis(), TimeUnit.MILLISECONDS,
                new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Runs {@code task} on a pooled thread named {@code name} while it runs; its outcome, an
     * exception included, is the future's.
     */
    public Future<?> submit(String name, Runnable task) {
        return pool.submit(named(name, task));
    }

    /**
     * As {@link #submit} without a future: an exception the task throws goes to the thread's
     * uncaught-exception handler (stderr, so the daemon log), as on a thread of its own.
     */
    public void execute(String name, Runnable task) {
        pool.execute(named(name, task));
    }

    private static Runnable named(String name, Runnable task) {
        return () -> {
            Thread t = Thread.currentThread();
            String idle = t.getName();
            t.setName(name);
            try {
                task.run();
            } finally {
                t.setName(idle);
            }
        };
    }
}

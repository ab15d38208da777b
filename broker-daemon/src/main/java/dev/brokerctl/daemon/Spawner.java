package dev.brokerctl.daemon;

import java.io.IOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Starts every run's process from one dedicated thread that lives as long as the daemon. Linux
 * delivers PR_SET_PDEATHSIG (bwrap's {@code --die-with-parent}) when the thread that forked the
 * child exits: a pooled thread that idles out would kill a long run early.
 */
final class Spawner {

    /** Starts a process on the spawner's thread: {@link ProcessBuilder#start()}, or that with steps around it. */
    interface Start {
        Process start() throws IOException;
    }

    private record Job(Start start, CompletableFuture<Process> result) {
    }

    private final BlockingQueue<Job> jobs = new LinkedBlockingQueue<>();

    Spawner() {
        Thread t = new Thread(this::loop, "run-spawner");
        t.setDaemon(true);
        t.start();
    }

    Process start(ProcessBuilder pb) throws IOException {
        return start(pb::start);
    }

    /** Runs {@code start} on the spawner's thread: what it forks has that thread as its parent. */
    Process start(Start start) throws IOException {
        CompletableFuture<Process> result = new CompletableFuture<>();
        jobs.add(new Job(start, result));
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // started or not, the job finishes; a process started meanwhile is the caller's to kill
            result.thenAccept(Process::destroyForcibly);
            throw new IOException("interrupted while the run was being started");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getCause().getClass().getSimpleName());
        }
    }

    private void loop() {
        while (true) {
            Job job;
            try {
                job = jobs.take();
            } catch (InterruptedException e) {
                continue;   // this thread must not end while runs may still be started
            }
            try {
                job.result().complete(job.start().start());
            } catch (IOException | RuntimeException e) {
                job.result().completeExceptionally(e);
            }
        }
    }
}

package dev.brokerctl.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class WorkersTest {

    @Test
    void aTaskRunsUnderItsName_onADaemonThread_renamedBackWhenItEnds() throws Exception {
        Workers w = new Workers("test-pool");
        AtomicReference<Thread> thread = new AtomicReference<>();
        AtomicReference<String> name = new AtomicReference<>();
        w.submit("connection-1", () -> {
            thread.set(Thread.currentThread());
            name.set(Thread.currentThread().getName());
        }).get(10, TimeUnit.SECONDS);
        assertEquals("connection-1", name.get());
        assertTrue(thread.get().isDaemon());
        assertTrue(thread.get().getName().startsWith("test-pool-"), thread.get().getName());
        CompletableFuture<String> executed = new CompletableFuture<>();
        w.execute("run-2", () -> executed.complete(Thread.currentThread().getName()));
        assertEquals("run-2", executed.get(10, TimeUnit.SECONDS));
    }

    @Test
    void aFailingSubmittedTask_failsItsFuture() {
        Workers w = new Workers("test-pool");
        ExecutionException e = assertThrows(ExecutionException.class, () -> w.submit("pump", () -> {
            throw new IllegalStateException("pump broke");
        }).get(10, TimeUnit.SECONDS));
        assertEquals("pump broke", e.getCause().getMessage());
    }
}

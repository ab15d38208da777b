package dev.brokerctl.daemon;

import dev.brokerctl.protocol.Frame;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;

/**
 * A run's stdin between the requester's connection and the command. The connection's reader only
 * queues here, never writes to the child: a command that does not read its stdin fills the pipe,
 * and the thread that blocks on it must not be the one that reads signals, cancel and EOF. The
 * run's own task writes, and acknowledges what it wrote, so a client keeps at most
 * {@link Frame#STDIN_WINDOW} bytes in flight; one that sends more is out of protocol.
 */
final class StdinPipe {

    /** Told how many bytes have been written to the command so far (cumulative). */
    interface Acks {
        void written(long total) throws IOException;
    }

    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
    private long queued;
    private boolean ended;
    private boolean closed;

    /** @return false when the client sent past the window (the caller ends the run) */
    synchronized boolean offer(byte[] data) {
        if (closed || ended) {
            return true;   // like a write to a pipe whose reader went away: dropped
        }
        if (queued + data.length > Frame.STDIN_WINDOW) {
            return false;
        }
        chunks.add(data);
        queued += data.length;
        notifyAll();
        return true;
    }

    /** The client's stdin ended: the command sees EOF once the queue is written. */
    synchronized void end() {
        ended = true;
        notifyAll();
    }

    /** The run is over: drop what is queued and let {@link #pump} return. */
    synchronized void close() {
        closed = true;
        chunks.clear();
        queued = 0;
        notifyAll();
    }

    /** Writes queued chunks to {@code to} until EOF or close; runs on the run's stdin task. */
    void pump(OutputStream to, Acks acks) throws InterruptedException {
        long total = 0;
        try (to) {
            while (true) {
                byte[] next;
                synchronized (this) {
                    while (chunks.isEmpty() && !ended && !closed) {
                        wait();
                    }
                    if (closed || chunks.isEmpty()) {
                        return;   // closed, or ended with everything written: closing `to` is the EOF
                    }
                    next = chunks.poll();
                }
                to.write(next);
                to.flush();
                total += next.length;
                synchronized (this) {
                    queued = Math.max(0, queued - next.length);
                }
                acks.written(total);
            }
        } catch (IOException e) {
            // the command closed its stdin or exited, or the requester went away: nothing to write to
            close();
        }
    }
}

package dev.brokerctl.daemon.mask;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * Masks one output stream (stdout or stderr of a run) on its way to {@code downstream}.
 * Created by {@link Masker#wrap}; not thread-safe (one writer per stream).
 *
 * <p>Two stages: an {@link EscapeView} first replaces the forms matched on a decoded view of the
 * output (the value escaped in any mix, base64 and hex at any wrapping); its output goes through
 * the raw stage, which replaces raw values and their lines in the bytes as they are (a value
 * that looks like an escape, such as {@code p%41ss}, and values of 4 to 7 bytes). Decoded first,
 * because a line of a multi-line value appears raw inside its JSON form: replaced first, it
 * would cut the whole form apart and let the rest of it through. Every write forwards at once all bytes that can no longer be part of a match,
 * so output stays live. Only a possible partial match is held back, fewer than
 * {@link Masker#holdBackBound()} bytes ({@link #pendingBytes()}). {@link #flush()} does not
 * release them, because they could still begin a pattern; {@link #finish()} (end of output)
 * does, and {@link #close()} finishes and closes {@code downstream}. Memory is fixed buffers,
 * whatever the output size: about 120 KiB (per-position tables for a slice of 8 KiB in each
 * stage) plus 5 bytes per byte of the longest raw pattern and 23 per byte of the longest decoded
 * one.
 *
 * <p>Output is the same whatever the chunking, and the same as {@link Masker#maskAll}.
 */
public final class MaskingOutputStream extends OutputStream {

    /** Input bytes scanned per round; bounds the buffers and the work between forwards. */
    static final int SLICE = 8192;

    private final Masker masker;
    private final OutputStream downstream;
    private final Scanner raw;
    /** Null when no value has decoded forms (all shorter than 8 bytes). */
    private final EscapeView view;
    private final Scanner.Sink sink = this::replace;
    /** raw.buf[0, fwd) has been passed on. */
    private int fwd;
    private long masked;
    private boolean finished;

    MaskingOutputStream(Masker masker, OutputStream downstream) {
        this.masker = masker;
        this.downstream = downstream;
        this.raw = new Scanner(masker.raw, masker.raw.longest + SLICE);
        this.view = masker.decoded == null ? null : new EscapeView(masker, masker.decoded, masker.gate,
                new OutputStream() {
                    @Override
                    public void write(int b) throws IOException {
                        write(new byte[] {(byte) b}, 0, 1);
                    }

                    @Override
                    public void write(byte[] b, int off, int n) throws IOException {
                        rawWrite(b, off, n);
                    }
                });
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int n) throws IOException {
        Objects.checkFromIndexSize(off, n, b.length);
        checkOpen();
        if (view == null) {
            rawWrite(b, off, n);
        } else {
            view.write(b, off, n);
        }
    }

    private void rawWrite(byte[] b, int off, int n) throws IOException {
        while (n > 0) {
            int k = Math.min(n, raw.room());
            System.arraycopy(b, off, raw.buf, raw.len, k);
            raw.len += k;
            off += k;
            n -= k;
            raw.scan(sink);
            pass(raw.frontier());
            raw.discard(fwd);
            fwd = 0;
        }
    }

    /** Flushes {@code downstream}; held-back bytes stay held (they may begin a pattern). */
    @Override
    public void flush() throws IOException {
        downstream.flush();
    }

    /**
     * Ends the output: replaces any pending match, forwards every held-back byte and flushes
     * {@code downstream} without closing it. Later writes fail; calling it again does nothing.
     */
    public void finish() throws IOException {
        if (finished) {
            return;
        }
        masker.checkAlive();
        if (view != null) {
            view.finish();
        }
        raw.finish(sink);
        pass(raw.len);
        finished = true;
        downstream.flush();
    }

    /** {@link #finish()}, then closes {@code downstream}. */
    @Override
    public void close() throws IOException {
        try {
            finish();
        } finally {
            downstream.close();
        }
    }

    /** Replacements made so far. */
    public long maskedCount() {
        return masked + (view == null ? 0 : view.maskedCount());
    }

    /** Input bytes written but not yet forwarded (a possible partial match). */
    public int pendingBytes() {
        return raw.len - fwd + (view == null ? 0 : view.pendingBytes());
    }

    /**
     * Work done so far, for tests of linearity: both scanners' steps and the bytes decoded into
     * the view (each at most a fixed number of operations).
     */
    long workSteps() {
        return raw.steps + (view == null ? 0 : view.scanSteps() + view.decodedBytes());
    }

    /** Bytes that went through the decoded view (the gate let the others pass). */
    long decodedBytes() {
        return view == null ? 0 : view.decodedBytes();
    }

    /** Size of the internal buffers; fixed for the stream's life. */
    int bufferCapacity() {
        return raw.buf.length + (view == null ? 0 : view.bufferCapacity());
    }

    @Override
    public String toString() {
        return "MaskingOutputStream[pending=" + pendingBytes() + " bytes, masked=" + maskedCount()
                + (finished ? ", finished" : "") + "]";
    }

    private void checkOpen() throws IOException {
        masker.checkAlive();
        if (finished) {
            throw new IOException("masking stream already finished");
        }
    }

    private void replace(int start, int end, int pattern) throws IOException {
        pass(start);
        downstream.write(masker.replacement(pattern, false));
        masked++;
        fwd = end;
    }

    private void pass(int upTo) throws IOException {
        if (upTo > fwd) {
            downstream.write(raw.buf, fwd, upTo - fwd);
            fwd = upTo;
        }
    }
}

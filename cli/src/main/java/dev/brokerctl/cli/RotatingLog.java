package dev.brokerctl.cli;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The daemon's log file, appended to and rotated: once {@code brokerd.log} has reached
 * {@link #MAX_BYTES} at the end of a line, it becomes {@code brokerd.log.1} (the older ones
 * {@code .2} up to {@code .}{@value #KEEP}, the oldest dropped) and a new one is started. Every
 * file is created 0600. The log never holds a value, so rotation is about disk, not secrecy.
 */
final class RotatingLog extends OutputStream {

    /** Rotate at 10 MiB: some 25,000 runs at ~400 bytes each. */
    static final long MAX_BYTES = 10L << 20;
    /** Old files kept beside the current one. */
    static final int KEEP = 3;

    private final Path file;
    private final long maxBytes;
    private FileOutputStream out;
    private long size;
    /** The size at which to rotate next: after a rotation that failed, another {@code maxBytes} on. */
    private long rotateAt;

    RotatingLog(Path file) throws IOException {
        this(file, MAX_BYTES);
    }

    RotatingLog(Path file, long maxBytes) throws IOException {
        this.file = file;
        this.maxBytes = maxBytes;
        open();
    }

    private void open() throws IOException {
        if (!Files.exists(file)) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        }
        out = new FileOutputStream(file.toFile(), true);
        size = Files.size(file);
        rotateAt = maxBytes;
    }

    @Override
    public synchronized void write(int b) throws IOException {
        out.write(b);
        size++;
        if (b == '\n') {
            rotateIfFull();
        }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        size += len;
        if (len > 0 && b[off + len - 1] == '\n') {
            rotateIfFull();
        }
    }

    @Override
    public synchronized void flush() throws IOException {
        out.flush();
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }

    /**
     * At a line's end, past the limit: shift the old files up by one and start a new log. When
     * that fails (something in the way of a {@code brokerd.log.N}), the current file goes on
     * taking lines, says so, and the rotation is tried again after another {@code maxBytes}.
     */
    private void rotateIfFull() throws IOException {
        if (size < rotateAt) {
            return;
        }
        try {
            Files.deleteIfExists(old(KEEP));
            for (int i = KEEP - 1; i >= 1; i--) {
                if (Files.exists(old(i))) {
                    Files.move(old(i), old(i + 1), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Files.move(file, old(1), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            byte[] line = ("brokerctl: cannot rotate " + file.getFileName() + " (" + e.getClass().getSimpleName()
                    + " on " + e.getMessage() + "); writing on in this file\n").getBytes(StandardCharsets.UTF_8);
            out.write(line);
            size += line.length;
            rotateAt = size + maxBytes;
            return;
        }
        FileOutputStream moved = out;
        open();
        moved.close();
    }

    private Path old(int n) {
        return file.resolveSibling(file.getFileName() + "." + n);
    }
}

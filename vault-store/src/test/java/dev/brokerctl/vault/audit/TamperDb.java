package dev.brokerctl.vault.audit;

import dev.brokerctl.vault.RawDb;
import java.nio.file.Path;
import java.sql.SQLException;

/** {@link RawDb} with the audit log's tamperings: flipped bits, swapped rows. */
final class TamperDb extends RawDb {

    TamperDb(Path file) throws SQLException {
        super(file);
    }

    /** Flips one bit of a BLOB cell of the audit table ({@code seq} is its rowid). */
    void flipAuditBit(String column, long seq, int byteIndex) throws SQLException {
        flipBit("audit", column, seq, byteIndex);
    }

    /** Swaps the stored entry and MAC of two rows, leaving their sequence numbers. */
    void swapContents(long a, long b) throws SQLException {
        byte[] entryA = blob("SELECT entry FROM audit WHERE seq = ?", a);
        byte[] macA = blob("SELECT mac FROM audit WHERE seq = ?", a);
        byte[] entryB = blob("SELECT entry FROM audit WHERE seq = ?", b);
        byte[] macB = blob("SELECT mac FROM audit WHERE seq = ?", b);
        update("UPDATE audit SET entry = ?, mac = ? WHERE seq = ?", entryB, macB, a);
        update("UPDATE audit SET entry = ?, mac = ? WHERE seq = ?", entryA, macA, b);
    }

    /** Swaps the sequence numbers of two rows (the primary key), through a free number. */
    void swapSeq(long a, long b) throws SQLException {
        update("UPDATE audit SET seq = -1 WHERE seq = ?", a);
        update("UPDATE audit SET seq = ? WHERE seq = ?", a, b);
        update("UPDATE audit SET seq = ? WHERE seq = -1", b);
    }
}

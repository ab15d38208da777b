package dev.brokerctl.vault.audit;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** Direct SQL on a vault file, playing the attacker who edits the audit log behind brokerctl's back. */
final class TamperDb implements AutoCloseable {

    private final Connection c;

    TamperDb(Path file) throws SQLException {
        c = DriverManager.getConnection("jdbc:sqlite:" + file);
    }

    byte[] blob(String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(sql, args); ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                throw new AssertionError("no row for " + sql);
            }
            return rs.getBytes(1);
        }
    }

    long number(String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(sql, args); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    int update(String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(sql, args)) {
            return ps.executeUpdate();
        }
    }

    /** Flips one bit of a BLOB cell of the audit table. */
    void flipAuditBit(String column, long seq, int byteIndex) throws SQLException {
        byte[] b = blob("SELECT " + column + " FROM audit WHERE seq = ?", seq);
        b[Math.floorMod(byteIndex, b.length)] ^= 0x10;
        update("UPDATE audit SET " + column + " = ? WHERE seq = ?", b, seq);
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

    private PreparedStatement prepare(String sql, Object... args) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql);
        for (int i = 0; i < args.length; i++) {
            ps.setObject(i + 1, args[i]);
        }
        return ps;
    }

    @Override
    public void close() throws SQLException {
        c.close();
    }
}

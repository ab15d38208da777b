package dev.brokerctl.vault;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Direct SQL on a vault file, playing the attacker who edits it behind brokerctl's back. Public for
 * the tests of other packages (the audit log's).
 */
public class RawDb implements AutoCloseable {

    private final Connection c;

    public RawDb(Path file) throws SQLException {
        c = DriverManager.getConnection("jdbc:sqlite:" + file);
    }

    public byte[] blob(String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(sql, args); ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                throw new AssertionError("no row for " + sql);
            }
            return rs.getBytes(1);
        }
    }

    public long number(String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(sql, args); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    public String text(String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    public int update(String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(sql, args)) {
            return ps.executeUpdate();
        }
    }

    /** Flips one bit of a BLOB cell, addressed by table, column and rowid. */
    public void flipBit(String table, String column, long rowid, int byteIndex) throws SQLException {
        byte[] b = blob("SELECT " + column + " FROM " + table + " WHERE rowid = ?", rowid);
        b[Math.floorMod(byteIndex, b.length)] ^= 0x10;
        update("UPDATE " + table + " SET " + column + " = ? WHERE rowid = ?", b, rowid);
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

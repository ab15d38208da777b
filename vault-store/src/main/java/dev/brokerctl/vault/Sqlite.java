package dev.brokerctl.vault;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/** Opening connections with the vault's pragmas, transactions, and error translation. */
final class Sqlite {

    /** How long a writer waits for another process's write transaction. */
    static final int BUSY_TIMEOUT_MS = 15_000;

    private Sqlite() {
    }

    static Connection open(Path file) throws VaultException {
        SqliteNative.prepare(file.getParent());
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
        config.setBusyTimeout(BUSY_TIMEOUT_MS);
        config.enforceForeignKeys(true);
        // Deleted rows (old ciphertexts, old name index entries) are overwritten, not left in free pages.
        config.setPragma(SQLiteConfig.Pragma.SECURE_DELETE, "true");
        config.setTempStore(SQLiteConfig.TempStore.MEMORY);
        try {
            return config.createConnection("jdbc:sqlite:" + file);
        } catch (SQLException e) {
            throw translate(e, file);
        }
    }

    interface Work<T> {
        T run() throws SQLException, VaultException;
    }

    /**
     * Runs {@code work} in a {@code BEGIN IMMEDIATE} transaction: the write lock is taken up front
     * so two processes never deadlock on a read-to-write upgrade (which SQLite does not retry).
     */
    static <T> T inWriteTransaction(Connection c, Path file, Work<T> work) throws VaultException {
        return inTransaction(c, file, "BEGIN IMMEDIATE", work);
    }

    /** Runs {@code work} in one read snapshot. */
    static <T> T inReadTransaction(Connection c, Path file, Work<T> work) throws VaultException {
        return inTransaction(c, file, "BEGIN", work);
    }

    private static <T> T inTransaction(Connection c, Path file, String begin, Work<T> work)
            throws VaultException {
        try (Statement s = c.createStatement()) {
            s.execute(begin);
            boolean done = false;
            try {
                T result = work.run();
                s.execute("COMMIT");
                done = true;
                return result;
            } finally {
                if (!done) {
                    try {
                        s.execute("ROLLBACK");
                    } catch (SQLException ignored) {
                        // the transaction may already be gone; the original failure matters
                    }
                }
            }
        } catch (SQLException e) {
            throw translate(e, file);
        }
    }

    /** SQLite's messages carry no bound values, so they are safe to show. */
    static VaultException translate(SQLException e, Path file) {
        SQLiteErrorCode code = e instanceof SQLiteException se ? se.getResultCode() : null;
        int primary = code == null ? -1 : code.code & 0xff;
        if (primary == SQLiteErrorCode.SQLITE_CORRUPT.code
                || primary == SQLiteErrorCode.SQLITE_NOTADB.code) {
            return new VaultIntegrityException("the vault file " + file + " is damaged ("
                    + shortMessage(e) + "); restore it from a backup", e);
        }
        if (primary == SQLiteErrorCode.SQLITE_BUSY.code || primary == SQLiteErrorCode.SQLITE_LOCKED.code) {
            return new VaultException("the vault " + file + " stayed locked by another process for "
                    + BUSY_TIMEOUT_MS / 1000 + " s; try again", e);
        }
        if (primary == SQLiteErrorCode.SQLITE_READONLY.code || primary == SQLiteErrorCode.SQLITE_CANTOPEN.code
                || primary == SQLiteErrorCode.SQLITE_PERM.code) {
            return new VaultException("cannot open the vault file " + file + " for writing ("
                    + shortMessage(e) + "); check its owner and permissions", e);
        }
        if (primary == SQLiteErrorCode.SQLITE_FULL.code) {
            return new VaultException("the disk holding " + file + " is full; nothing was written", e);
        }
        return new VaultException("vault storage error on " + file + ": " + shortMessage(e), e);
    }

    private static String shortMessage(SQLException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}

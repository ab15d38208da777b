package dev.brokerctl.vault.audit;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

/**
 * Another process on the vault file, as a same-user agent's {@code sqlite3} would be: runs each
 * statement on its own connection and prints the first column of what a query returns.
 *
 * <p>Usage: {@code SqlMain VAULT SQL...}
 */
public final class SqlMain {

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + args[0]); Statement s = c.createStatement()) {
            for (int i = 1; i < args.length; i++) {
                if (s.execute(args[i])) {
                    try (ResultSet rs = s.getResultSet()) {
                        while (rs.next()) {
                            System.out.println(rs.getString(1));
                        }
                    }
                }
            }
        }
    }
}

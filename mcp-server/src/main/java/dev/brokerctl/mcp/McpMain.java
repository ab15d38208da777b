package dev.brokerctl.mcp;

import dev.brokerctl.protocol.BrokerPaths;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The entry point the launcher starts for a bare {@code brokerctl mcp}: the server without the
 * CLI's parser. picocli is compiled for Java 5, so JDK 17's AppCDS cannot archive its classes, and
 * building the CLI's command model took ~150 ms of an MCP client's start-up. {@code brokerctl mcp}
 * with options ({@code --help}) still goes through the CLI.
 */
public final class McpMain {

    private McpMain() {
    }

    public static void main(String[] args) {
        if (args.length != 0) {
            System.err.println("brokerctl mcp: takes no arguments; see: brokerctl mcp --help");
            System.exit(2);
        }
        System.exit(serveStdio());
    }

    /** One MCP session on this process's stdin and stdout, logging to stderr. */
    public static int serveStdio() {
        // The SDK logs through slf4j-simple to stderr; its INFO chatter is not for the agent's log.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        PrintStream log = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        return BrokerMcpServer.serve(new FileInputStream(FileDescriptor.in), new FileOutputStream(FileDescriptor.out),
                log, BrokerPaths.fromEnvironment());
    }
}

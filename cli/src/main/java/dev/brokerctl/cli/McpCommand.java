package dev.brokerctl.cli;

import dev.brokerctl.mcp.BrokerMcpServer;
import dev.brokerctl.protocol.BrokerPaths;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "mcp", description = {
    "The stdio MCP server a coding agent launches: names-only tools that ask the daemon to run commands.",
    "Standard output carries JSON-RPC only; logs go to standard error.",
    "How to add it to each MCP client:",
    "  docs/mcp-clients.md"})
final class McpCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        // The SDK logs through slf4j-simple to stderr; its INFO chatter is not for the agent's log.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        PrintStream log = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        return BrokerMcpServer.serve(new FileInputStream(FileDescriptor.in), new FileOutputStream(FileDescriptor.out),
                log, BrokerPaths.fromEnvironment());
    }
}

package dev.brokerctl.cli;

import dev.brokerctl.mcp.McpMain;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "mcp", description = {
    "The stdio MCP server a coding agent launches: names-only tools that ask the daemon to run commands.",
    "Standard output carries JSON-RPC only; logs go to standard error.",
    "How to add it to each MCP client:",
    "  docs/mcp-clients.md"})
final class McpCommand implements Callable<Integer> {

    /** The launcher starts {@link McpMain} directly for a bare {@code brokerctl mcp}; this is the same. */
    @Override
    public Integer call() {
        return McpMain.serveStdio();
    }
}

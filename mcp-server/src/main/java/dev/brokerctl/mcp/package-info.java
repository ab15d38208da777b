/**
 * The stdio MCP server an agent launches as {@code brokerctl mcp} ({@link dev.brokerctl.mcp.BrokerMcpServer}):
 * tools that ask the daemon over its socket, holding names, argv and masked output, never a value.
 */
package dev.brokerctl.mcp;

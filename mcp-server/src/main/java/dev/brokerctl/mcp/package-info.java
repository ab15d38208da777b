/** brokerctl mcp-server. */
package dev.brokerctl.mcp;

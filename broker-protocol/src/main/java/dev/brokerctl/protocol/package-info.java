/** brokerctl broker-protocol. */
package dev.brokerctl.protocol;

/** brokerctl broker-daemon. */
package dev.brokerctl.daemon;

/** brokerctl vault-store. */
package dev.brokerctl.vault;

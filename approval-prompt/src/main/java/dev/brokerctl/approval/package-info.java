/** brokerctl approval-prompt. */
package dev.brokerctl.approval;

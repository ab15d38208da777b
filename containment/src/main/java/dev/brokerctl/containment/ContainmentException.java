package dev.brokerctl.containment;

/** A sandbox that cannot be built as asked: the message names what and the fix. */
public class ContainmentException extends Exception {

    public ContainmentException(String message) {
        super(message);
    }
}

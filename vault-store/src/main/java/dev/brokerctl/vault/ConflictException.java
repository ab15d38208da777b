package dev.brokerctl.vault;

/** The thing to create exists already. */
public final class ConflictException extends VaultException {

    public ConflictException(String message) {
        super(message);
    }
}

package dev.brokerctl.vault;

/** The file is not a brokerctl vault, or has a format version this build cannot read. */
public final class VaultFormatException extends VaultException {

    public VaultFormatException(String message) {
        super(message);
    }
}

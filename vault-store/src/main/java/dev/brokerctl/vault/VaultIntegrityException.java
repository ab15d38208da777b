package dev.brokerctl.vault;

/**
 * Data in the vault file failed authentication or a structural check: the file was modified
 * outside brokerctl or is corrupted. The message names the item where it can.
 */
public final class VaultIntegrityException extends VaultException {

    public VaultIntegrityException(String message) {
        super(message);
    }

    public VaultIntegrityException(String message, Throwable cause) {
        super(message, cause);
    }
}

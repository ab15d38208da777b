package dev.brokerctl.vault;

/**
 * Root of the vault's checked failures. Messages name the broken contract, the offending
 * non-secret value (an environment or variable name, a path) and the fix; they never carry a
 * secret value or key material.
 */
public class VaultException extends Exception {

    public VaultException(String message) {
        super(message);
    }

    public VaultException(String message, Throwable cause) {
        super(message, cause);
    }
}

package dev.brokerctl.vault;

/**
 * The passphrase did not unwrap the vault key. An edited keyslot (its salt or KDF parameters
 * changed within the caps, the unkeyed checksum recomputed) fails in exactly the same way, so the
 * message does not guess which it was.
 */
public final class WrongPassphraseException extends VaultException {

    public WrongPassphraseException() {
        super("wrong passphrase, or a damaged keyslot");
    }
}

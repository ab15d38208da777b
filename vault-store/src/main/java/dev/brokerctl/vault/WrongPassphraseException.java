package dev.brokerctl.vault;

/** The passphrase did not unwrap the vault key. */
public final class WrongPassphraseException extends VaultException {

    public WrongPassphraseException() {
        super("wrong passphrase");
    }
}

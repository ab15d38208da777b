package dev.brokerctl.daemon;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Durations;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultException;
import dev.brokerctl.vault.VaultSession;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's unlocked vault, or nothing. Locking closes the session, which zeroes its keys.
 * Requests touch it; {@link #lockIfIdle()} locks it after the idle period.
 */
final class VaultHolder {

    private static final Logger LOG = LoggerFactory.getLogger(VaultHolder.class);

    interface Work<T> {
        T run(VaultSession session) throws VaultException, BrokerException;
    }

    private final Path file;
    private final Clock clock;
    private final Duration idleLock;
    private VaultSession session;
    private long lastUse;

    VaultHolder(Path file, Clock clock, Duration idleLock) {
        this.file = file;
        this.clock = clock;
        this.idleLock = idleLock;
    }

    synchronized boolean isLocked() {
        return session == null;
    }

    /** Unlocks with the passphrase; a no-op check of the passphrase when already unlocked. */
    synchronized void unlock(char[] passphrase) throws VaultException {
        if (session != null) {
            verify(passphrase);
            return;
        }
        session = Vault.open(file).unlock(passphrase);
        lastUse = clock.millis();
        LOG.info("vault unlocked");
    }

    /** Proves a passphrase without changing the lock state (runs the KDF once). */
    void verify(char[] passphrase) throws VaultException {
        Vault.open(file).unlock(passphrase).close();
    }

    synchronized void lock(String why) {
        if (session != null) {
            session.close();
            session = null;
            LOG.info("vault locked ({})", why);
        }
    }

    /** Runs {@code work} on the unlocked session, counting it as use. */
    synchronized <T> T with(Work<T> work) throws VaultException, BrokerException {
        if (session == null) {
            throw locked();
        }
        lastUse = clock.millis();
        return work.run(session);
    }

    /** @return true when this call locked the vault */
    synchronized boolean lockIfIdle() {
        if (session != null && clock.millis() - lastUse >= idleLock.toMillis()) {
            lock("idle for " + Durations.format(idleLock));
            return true;
        }
        return false;
    }

    static BrokerException locked() {
        return new BrokerException(ErrorCode.LOCKED,
                "the vault is locked; a human must run: brokerctl unlock");
    }
}

package dev.brokerctl.daemon;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Durations;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultException;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
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
    /** Wrong passphrases while locked: there is no key to record them with until the next unlock. */
    private int failedWhileLocked;

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
        try {
            session = Vault.open(file).unlock(passphrase);
        } catch (dev.brokerctl.vault.WrongPassphraseException e) {
            failedWhileLocked++;
            throw e;
        }
        lastUse = clock.millis();
        LOG.info("vault unlocked");
        if (failedWhileLocked > 0) {
            session.audit(AuditEvent.PASSPHRASE_FAILED, null,
                    AuditDetails.of(AuditDetails.ATTEMPTS, failedWhileLocked, AuditDetails.SOURCE, "daemon, while locked"));
            failedWhileLocked = 0;
        }
        session.audit(AuditEvent.UNLOCKED, null, AuditDetails.of(AuditDetails.SOURCE, "daemon"));
    }

    /** Proves a passphrase without changing the lock state (runs the KDF once). */
    void verify(char[] passphrase) throws VaultException {
        try {
            Vault.open(file).unlock(passphrase).close();
        } catch (dev.brokerctl.vault.WrongPassphraseException e) {
            synchronized (this) {
                if (session == null) {
                    failedWhileLocked++;
                } else {
                    session.audit(AuditEvent.PASSPHRASE_FAILED, null,
                            AuditDetails.of(AuditDetails.ATTEMPTS, 1, AuditDetails.SOURCE, "daemon"));
                }
            }
            throw e;
        }
    }

    synchronized void lock(String why) {
        if (session != null) {
            try {
                session.audit(AuditEvent.LOCKED, null, AuditDetails.of(AuditDetails.REASON, why));
            } catch (VaultException e) {
                LOG.warn("could not record the lock in the audit log: {}", e.getMessage());
            }
            session.close();
            session = null;
            LOG.info("vault locked ({})", why);
        }
    }

    /** Appends to the audit log; fails closed (the caller's request fails) when it cannot. */
    void audit(AuditEvent event, String environment, java.util.Map<String, Object> details)
            throws VaultException, BrokerException {
        with(s -> s.audit(event, environment, details));
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

package dev.brokerctl.daemon;

import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Durations;
import dev.brokerctl.protocol.ErrorCode;
import dev.brokerctl.vault.StateMark;
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultException;
import dev.brokerctl.vault.VaultIntegrityException;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's unlocked vault, or nothing. Locking closes the session, which zeroes its keys.
 * Requests touch it; {@link #lockIfIdle()} locks it after the idle period.
 *
 * <p>Audit entries are appended two ways. {@link #audit} is for entries something depends on (a
 * request and its decision are on disk before the command starts): it fails closed. {@link
 * #auditLater} is for entries that record what already happened (a start, an exit, the lock
 * itself): they are appended in order, in the background or together with the next entry, so a
 * run does not wait for their sync to disk. Locking appends what is still queued first.
 *
 * <p>No such entry is dropped: one that cannot be written now (the disk is full, the vault was
 * locked under a run) waits, up to {@link #MAX_WAITING} of them, and is retried with the next
 * append, the next unlock and every second ({@link #retryWaiting}); written late, it carries
 * {@code happened_at}. What still cannot be kept (the queue is full, the vault file was refused)
 * is counted by kind, and the next append that succeeds starts with a {@code records_lost} entry
 * saying how many of which kinds, and why. An idle lock waits while the vault is in use by a run
 * ({@link #beginUse}): a running command is use.
 */
final class VaultHolder {

    private static final Logger LOG = LoggerFactory.getLogger(VaultHolder.class);

    interface Work<T> {
        T run(VaultSession session) throws VaultException, BrokerException;
    }

    private final Path file;
    private final Clock clock;
    private final Duration idleLock;
    private final Executor background;
    /** How many entries may wait to be appended; past it, entries are counted as lost. */
    static final int MAX_WAITING = 1024;

    /** An entry not yet appended, and when it happened (the clock's millis). */
    private record Waiting(AuditRecord record, long at) {
    }

    /** Entries queued and not yet appended, oldest first. */
    private final List<Waiting> deferred = new ArrayList<>();
    private final int maxWaiting;
    /** Entries given up since the last successful append, by kind; reported as {@code records_lost}. */
    private final java.util.Map<AuditEvent, Integer> lost = new java.util.EnumMap<>(AuditEvent.class);
    /** Why the entries in {@link #lost} were given up (distinct causes, in order). */
    private final java.util.Set<String> lostWhy = new java.util.LinkedHashSet<>();
    /** The cause of the last failed append, until one succeeds: logged once, not every retry. */
    private String failing;
    /** Runs using the vault now ({@link #beginUse}): an idle lock waits for them. */
    private int inUse;
    /** Held while a passphrase is stretched: one key derivation at a time. */
    private final Object kdf = new Object();
    private VaultSession session;
    private long lastUse;
    /** Wrong passphrases while locked: there is no key to record them with until the next unlock. */
    private int failedWhileLocked;
    /**
     * Kept at lock, one-way from the vault key (it decrypts nothing): what lets a locked daemon
     * prove itself to {@code brokerctl unlock}. Null while unlocked, and in a daemon that never
     * held the key (started locked), which can then not be unlocked over the socket.
     */
    private byte[] unlockVerifier;
    /** Beside the vault: the highest state counter seen, MACed (see {@link StateMark}). */
    private final Path markFile;
    /** The highest state counter this daemon has seen, in memory too: a mark file put back does not lower it. */
    private long highest = -1;
    /** Why this daemon locked itself and refuses its vault (a rollback, the file replaced), or null. */
    private String refusal;
    /** Device and inode of the vault file this daemon unlocked (null while locked). */
    private Object fileIdentity;

    /** @param background where queued audit entries are appended (one task per entry queued) */
    VaultHolder(Path file, Clock clock, Duration idleLock, Executor background) {
        this(file, clock, idleLock, background, MAX_WAITING);
    }

    /** @param maxWaiting how many entries may wait to be appended (tests use a few) */
    VaultHolder(Path file, Clock clock, Duration idleLock, Executor background, int maxWaiting) {
        this.maxWaiting = maxWaiting;
        this.file = file;
        this.clock = clock;
        this.idleLock = idleLock;
        this.background = background;
        this.markFile = StateMark.pathFor(file);
    }

    synchronized boolean isLocked() {
        return session == null;
    }

    /**
     * Unlocks with the passphrase (only in-process: the daemon's own start, its pipe from the CLI
     * that started it); refused when already unlocked. One key derivation at a time.
     */
    void unlock(char[] passphrase) throws VaultException, BrokerException {
        synchronized (kdf) {
            synchronized (this) {
                if (session == null) {
                    VaultSession opened;
                    try {
                        opened = Vault.open(file).unlock(passphrase);
                    } catch (dev.brokerctl.vault.WrongPassphraseException e) {
                        failedWhileLocked++;
                        throw e;
                    }
                    session = refuseIfBehind(opened);
                    lastUse = clock.millis();
                    if (unlockVerifier != null) {
                        java.util.Arrays.fill(unlockVerifier, (byte) 0);
                        unlockVerifier = null;
                    }
                    LOG.info("vault unlocked; {}", Vault.nativeLibraryReport());
                    List<AuditRecord> records = new ArrayList<>();
                    if (failedWhileLocked > 0) {
                        records.add(new AuditRecord(AuditEvent.PASSPHRASE_FAILED, null, AuditDetails.of(
                                AuditDetails.ATTEMPTS, failedWhileLocked, AuditDetails.SOURCE, "daemon, while locked")));
                        failedWhileLocked = 0;
                    }
                    records.add(new AuditRecord(AuditEvent.UNLOCKED, null, AuditDetails.of(AuditDetails.SOURCE, "daemon")));
                    appendOrKeep(records);
                    return;
                }
            }
            throw new BrokerException(ErrorCode.CONFLICT, "the vault is already unlocked");
        }
    }

    /** This vault's approver key (the caller zeroes it), or null while locked. */
    synchronized byte[] approverKey() {
        return session == null ? null : session.approverKey();
    }

    /** A copy of the unlock verifier kept at lock, or null (unlocked, or never held the key). */
    synchronized byte[] unlockVerifier() {
        return session != null || unlockVerifier == null ? null : unlockVerifier.clone();
    }

    /**
     * Unlocks with the vault key {@code brokerctl unlock} sent sealed under the handshake's
     * transport key, accepted only when it is the key this daemon held before it locked.
     */
    synchronized void unlockWithSealedKey(byte[] transportKey, byte[] sealed, byte[] aad)
            throws VaultException, BrokerException {
        if (session != null) {
            throw new BrokerException(ErrorCode.CONFLICT, "the vault is already unlocked");
        }
        if (unlockVerifier == null) {
            throw neverHeldKey();
        }
        session = refuseIfBehind(Vault.open(file).unlockWithSealedKey(transportKey, sealed, aad, unlockVerifier));
        java.util.Arrays.fill(unlockVerifier, (byte) 0);
        unlockVerifier = null;
        lastUse = clock.millis();
        LOG.info("vault unlocked by brokerctl unlock (the daemon proved itself; the key arrived sealed); {}",
                Vault.nativeLibraryReport());
        appendOrKeep(List.of(new AuditRecord(AuditEvent.UNLOCKED, null,
                AuditDetails.of(AuditDetails.SOURCE, "brokerctl unlock, handshake"))));
    }

    /**
     * Takes the higher of the mark file and this daemon's memory as the floor, and refuses (closes)
     * a session whose vault is behind it: a whole-file rollback. Returns the session otherwise.
     */
    private VaultSession refuseIfBehind(VaultSession opened) throws VaultException {
        try {
            java.util.OptionalLong mark = StateMark.read(markFile, opened);
            if (mark.isPresent()) {
                highest = Math.max(highest, mark.getAsLong());
            }
            checkNotBehind(opened);
            fileIdentity = identity();
            if (fileIdentity == null) {
                throw new VaultException("the vault file " + file + " disappeared while it was unlocked; nothing was"
                        + " unlocked");
            }
            refusal = null;
            return opened;
        } catch (VaultException | RuntimeException e) {
            opened.close();
            throw e;
        }
    }

    /** Refuses a vault behind the highest counter seen; records a higher one. */
    private void checkNotBehind(VaultSession s) throws VaultException {
        long counter = s.stateCounter();
        if (counter < highest) {
            String message = "the vault file " + file + " went back in time: it is at state " + counter
                    + ", but this daemon has seen state " + highest + " (recorded in " + markFile + "). An older"
                    + " copy of the file was put in its place: a restored backup, or someone undoing changes"
                    + " (a policy, a variable, the audit trail). Nothing was read from it. If you restored it on"
                    + " purpose: stop the daemon (brokerctl stop), run brokerctl doctor --accept-rollback (it"
                    + " needs the passphrase and is recorded in the audit log), then start the daemon again";
            LOG.error("refusing the vault: {}", message);
            throw new VaultIntegrityException(message);
        }
        if (counter > highest) {
            highest = counter;
            byte[] mark = StateMark.encode(s, counter);
            // written off the request's path (a file write and rename cost ~2-4 ms here): the
            // memory copy guards this daemon's lifetime, the file the next daemon's
            background.execute(() -> writeMark(counter, mark));
        }
    }

    private final Object markWrite = new Object();
    private long markWritten = -1;

    /** Writes the mark for {@code counter} unless a newer one was written already. */
    private void writeMark(long counter, byte[] mark) {
        synchronized (markWrite) {
            if (counter <= markWritten) {
                return;
            }
            try {
                StateMark.write(markFile, mark);
                markWritten = counter;
            } catch (VaultException e) {
                LOG.warn("could not write the rollback mark: {}", Log.cause(e));
            }
        }
    }

    /** The path's device and inode now (as {@code (dev=…,ino=…)}), or null when nothing is there. */
    private Object identity() {
        try {
            return java.nio.file.Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /**
     * Before and after every use: the path still names the file this daemon opened (device and
     * inode), and that file has not gone back in time. Otherwise the session is closed (keys
     * zeroed), nothing more is read or written, and every later request gets the reason.
     */
    private void guard() throws VaultException {
        Object now = identity();
        if (!java.util.Objects.equals(now, fileIdentity)) {
            String message = "the vault file " + file + " was " + (now == null ? "deleted or moved away"
                    : "replaced (the path now names another file: " + now + ", this daemon opened " + fileIdentity + ")")
                    + " while the daemon held it unlocked. The daemon locked itself and writes nothing to either"
                    + " file, so no change is lost in a file nobody will read. Put the original file back, or stop the"
                    + " daemon (brokerctl stop) and start it again on the file now there";
            LOG.error("vault locked: {}", message);
            refuse(message);
            throw new VaultIntegrityException(message);
        }
        try {
            checkNotBehind(session);
        } catch (VaultIntegrityException e) {
            if (e.getMessage().contains("went back in time")) {
                refuse(e.getMessage());
                LOG.warn("vault locked: its file went back in time; kept only its unlock verifier");
            }
            throw e;
        }
    }

    private void refuse(String why) {
        refusal = why;
        unlockVerifier = session.unlockVerifier();
        session.close();
        session = null;
        fileIdentity = null;
        // nothing more is written to a refused file; counted, in case the original comes back
        for (Waiting w : deferred) {
            countLost(w.record().type(), "the vault file was refused before they were written");
        }
        deferred.clear();
    }

    static BrokerException neverHeldKey() {
        return new BrokerException(ErrorCode.LOCKED, "this daemon was started locked and has never held the"
                + " vault key, so it cannot prove itself and cannot be unlocked over its socket; stop it"
                + " (brokerctl stop) and start it with the passphrase: brokerctl daemon --detach (or brokerctl daemon)");
    }

    synchronized void lock(String why) {
        if (session != null) {
            AuditRecord locked = new AuditRecord(AuditEvent.LOCKED, null, AuditDetails.of(AuditDetails.REASON, why));
            try {
                guard();
                appendWithDeferred(List.of(locked));
            } catch (VaultException | RuntimeException e) {
                if (session == null) {
                    return;   // refused on the way (guard): already locked, its reason kept
                }
                keep(locked, clock.millis());
                failed(e);
            }
            try {
                checkNotBehind(session);
                writeMark(highest, StateMark.encode(session, highest));   // at once: the process may end next
            } catch (VaultException e) {
                if (session == null) {
                    return;
                }
                LOG.warn("could not write the rollback mark at the lock: {}", Log.cause(e));
            }
            if (!deferred.isEmpty()) {
                LOG.warn("vault locking with {} audit entries not yet written ({}): they are kept in memory and"
                        + " written at the next unlock", deferred.size(), kinds());
            }
            unlockVerifier = session.unlockVerifier();
            session.close();
            session = null;
            fileIdentity = null;
            LOG.info("vault locked ({}); kept only its unlock verifier", why);
        }
    }

    /**
     * Appends to the audit log, after the entries still queued, in one transaction; fails closed
     * (the caller's request fails) when it cannot.
     */
    synchronized void audit(AuditRecord... records) throws VaultException, BrokerException {
        requireUnlocked();
        lastUse = clock.millis();
        guard();
        appendWithDeferred(List.of(records));
        guard();
    }

    /** As {@link #audit(AuditRecord...)} for one entry. */
    void audit(AuditEvent event, String environment, java.util.Map<String, Object> details)
            throws VaultException, BrokerException {
        audit(new AuditRecord(event, environment, details));
    }

    /**
     * Queues an entry that records what already happened; it is appended in the background, in
     * order. When it cannot be appended now (the vault is locked, the disk is full) it waits and is
     * retried; see the class comment.
     */
    void auditLater(AuditRecord record) {
        synchronized (this) {
            keep(record, clock.millis());
        }
        background.execute(this::appendDeferred);
    }

    /** Tries the entries waiting again (the daemon's timer, every second); cheap when none wait. */
    void retryWaiting() {
        synchronized (this) {
            if (deferred.isEmpty() && lost.isEmpty()) {
                return;
            }
        }
        appendDeferred();
    }

    private synchronized void appendDeferred() {
        if ((deferred.isEmpty() && lost.isEmpty()) || session == null) {
            return;   // appended with a later entry already, or waiting for the next unlock
        }
        try {
            guard();
            appendWithDeferred(List.of());
            guard();
        } catch (VaultException | RuntimeException e) {
            if (session != null) {
                failed(e);
            }
        }
    }

    /** Appends {@code records} after what waits; when that fails, they wait too (they record what already happened). */
    private void appendOrKeep(List<AuditRecord> records) {
        assert Thread.holdsLock(this);
        try {
            appendWithDeferred(records);
        } catch (VaultException | RuntimeException e) {
            long now = clock.millis();
            records.forEach(r -> keep(r, now));
            failed(e);
        }
    }

    /** Puts an entry in the queue, or counts it as lost when the queue is full. */
    private void keep(AuditRecord record, long at) {
        assert Thread.holdsLock(this);
        if (deferred.size() >= maxWaiting) {
            countLost(record.type(), maxWaiting + " entries were already waiting to be written"
                    + (failing == null ? "" : " (" + failing + ")"));
            return;
        }
        deferred.add(new Waiting(record, at));
    }

    private void countLost(AuditEvent type, String why) {
        boolean first = lost.isEmpty();
        lost.merge(type, 1, Integer::sum);
        lostWhy.add(why);
        if (first) {
            LOG.error("audit entries given up: {}; the next entry written says how many (records_lost)", why);
        }
    }

    /** Logs the first failure of a spell with its cause; the entries stay queued. */
    private void failed(Exception e) {
        String cause = Log.cause(e);
        if (!cause.equals(failing)) {
            LOG.warn("audit entries could not be written: {}; {} kept to retry ({})", cause, deferred.size(), kinds());
        }
        failing = cause;
    }

    /** The kinds waiting, as {@code run_exited:2, locked:1}: never details. */
    private String kinds() {
        java.util.Map<String, Integer> byKind = new java.util.LinkedHashMap<>();
        for (Waiting w : deferred) {
            byKind.merge(w.record().type().id(), 1, Integer::sum);
        }
        return byKind.isEmpty() ? "none" : byKind.entrySet().stream().map(e -> e.getKey() + ":" + e.getValue())
                .collect(java.util.stream.Collectors.joining(", "));
    }

    /**
     * The daemon ends: what still waits can never be written by this process (the vault is
     * locked and its key gone). Logged by kind and count, the one trace left of it.
     */
    synchronized void reportUnwritten() {
        int lostCount = lost.values().stream().mapToInt(Integer::intValue).sum();
        if (deferred.isEmpty() && lostCount == 0) {
            return;
        }
        LOG.error("the daemon stops with {} audit entries it could not write ({}{}){}: they are lost",
                deferred.size() + lostCount, kinds(), lostCount == 0 ? "" : "; given up before: " + lostCount,
                failing == null ? "" : "; the last cause: " + failing);
    }

    /**
     * Appends the {@code records_lost} entry (when entries were given up), the queued entries,
     * then {@code records}, in one transaction; the queue and the lost count empty on success.
     */
    private void appendWithDeferred(List<AuditRecord> records) throws VaultException {
        assert Thread.holdsLock(this);
        if (deferred.isEmpty() && lost.isEmpty()) {
            if (!records.isEmpty()) {
                session.audit(records);
            }
            failing = null;
            return;
        }
        List<AuditRecord> all = new ArrayList<>();
        if (!lost.isEmpty()) {
            all.add(lostRecord());
        }
        long now = clock.millis();
        for (Waiting w : deferred) {
            all.add(late(w, now));
        }
        all.addAll(records);
        session.audit(all);
        if (failing != null || !lost.isEmpty()) {
            LOG.info("audit entries written again: {} that waited{}", deferred.size(),
                    lost.isEmpty() ? "" : ", and a records_lost entry for " + lost);
        }
        deferred.clear();
        lost.clear();
        lostWhy.clear();
        failing = null;
    }

    private AuditRecord lostRecord() {
        List<String> events = lost.entrySet().stream().map(e -> e.getKey().id() + ":" + e.getValue()).toList();
        long count = lost.values().stream().mapToLong(Integer::longValue).sum();
        return new AuditRecord(AuditEvent.RECORDS_LOST, null, AuditDetails.of(AuditDetails.COUNT, count,
                AuditDetails.EVENTS, events, AuditDetails.REASON, String.join("; ", lostWhy)));
    }

    /** The entry, with {@code happened_at} when it is written more than a second after it happened. */
    private static AuditRecord late(Waiting w, long now) {
        if (now - w.at() <= 1_000 || w.record().details().containsKey(AuditDetails.HAPPENED_AT)) {
            return w.record();
        }
        java.util.Map<String, Object> details = new java.util.LinkedHashMap<>(w.record().details());
        details.put(AuditDetails.HAPPENED_AT, java.time.Instant.ofEpochMilli(w.at()).toString());
        return new AuditRecord(w.record().type(), w.record().environment(), details);
    }

    /** A run begins to use the vault: no idle lock until it ends ({@link #endUse}). */
    synchronized void beginUse() {
        inUse++;
    }

    /** A run ended: the idle period counts from now. */
    synchronized void endUse() {
        inUse--;
        lastUse = clock.millis();
    }

    /** Runs {@code work} on the unlocked session, counting it as use. */
    synchronized <T> T with(Work<T> work) throws VaultException, BrokerException {
        requireUnlocked();
        lastUse = clock.millis();
        guard();
        T result = work.run(session);
        if (session != null) {
            guard();
        }
        return result;
    }

    /** @return true when this call locked the vault */
    synchronized boolean lockIfIdle() {
        if (session != null && inUse == 0 && clock.millis() - lastUse >= idleLock.toMillis()) {
            lock("idle for " + Durations.format(idleLock));
            return true;
        }
        return false;
    }

    /** Locked, or refusing the vault: the refusal's own message then, not "unlock it". */
    private void requireUnlocked() throws VaultException, BrokerException {
        if (session == null) {
            if (refusal != null) {
                throw new VaultIntegrityException(refusal);
            }
            throw locked();
        }
    }

    /** Why this daemon refuses its vault (for status and the log), or null. */
    synchronized String refusal() {
        return refusal;
    }

    static BrokerException locked() {
        return new BrokerException(ErrorCode.LOCKED,
                "the vault is locked; a human must run: brokerctl unlock");
    }
}

package dev.brokerctl.vault.audit;

import java.util.Locale;

/**
 * What an audit entry records. Entries carry names, argv and numbers, never a value. The details
 * listed for each event are the conventional keys (see {@link AuditDetails}); callers may add
 * others. Stored by {@link #name()}, so constants may be added but never renamed.
 */
public enum AuditEvent {
    /**
     * A requester asked to run a command: {@code run_id}, {@code argv}, {@code cwd},
     * {@code variables} (names), {@code reason}, {@code client}, {@code pid}.
     */
    RUN_REQUESTED,
    /**
     * A run request was decided: {@code run_id}, {@code decision} (approved, denied, timed_out,
     * cancelled, auto, granted), {@code decided_by} (which approver console, or "policy"/"grant").
     */
    RUN_DECIDED,
    /**
     * An approver granted a matching run for a while: {@code grant_id}, {@code argv}, {@code cwd},
     * {@code variables}, {@code expires_at}, {@code decided_by}.
     */
    GRANT_CREATED,
    /** A grant ended before it expired: {@code grant_id}, {@code decided_by} or {@code reason}. */
    GRANT_REVOKED,
    /** The runner started an approved command: {@code run_id}, {@code pid}, {@code argv}. */
    RUN_STARTED,
    /**
     * An approved command ended: {@code run_id}, {@code exit_code} (or {@code signal}),
     * {@code duration_ms}, {@code masked_count} (how many values were masked in its output),
     * {@code reason} (exited, timed out, cancelled, daemon stopped, or "not started: WHY" for a
     * command that could not be started, which then has no exit code); {@code happened_at} when it
     * was written later than it happened (the vault was locked or the disk full at the time).
     */
    RUN_EXITED,
    /** A variable's value was stored or replaced: {@code variable} (the name), {@code client}. */
    VARIABLE_SET,
    /** A variable was deleted: {@code variable}, {@code client}. */
    VARIABLE_UNSET,
    /**
     * An agent asked the human to provide a new variable: {@code variable}, {@code reason},
     * {@code client}; later {@code decision} when provided or declined.
     */
    VARIABLE_REQUESTED,
    /** An environment was created: {@code policy}, {@code client}. */
    ENVIRONMENT_CREATED,
    /** An environment and its variables were deleted: {@code variable_count}, {@code client}. */
    ENVIRONMENT_DELETED,
    /** An environment's policy changed: {@code policy} (the new one), {@code previous}. */
    POLICY_CHANGED,
    /** The daemon was unlocked (or a command opened the vault): {@code client}, {@code pid}. */
    UNLOCKED,
    /**
     * The daemon locked the vault: {@code reason} (command, idle, shutdown); {@code happened_at}
     * when it was written later than it happened (the disk was full at the lock).
     */
    LOCKED,
    /**
     * A passphrase was wrong: {@code client}, {@code pid}, {@code attempts}. Appending needs the
     * vault key, so attempts made while the vault is locked are recorded at the next unlock.
     */
    PASSPHRASE_FAILED,
    /** Variables were imported from a dotenv file: {@code variables} (names), {@code source}. */
    IMPORTED,
    /** The passphrase was changed (the vault key re-wrapped): {@code client}. */
    PASSPHRASE_CHANGED,
    /**
     * The passphrase was changed and the vault key replaced, every item re-sealed under the new
     * one: {@code source}, {@code variable_count}.
     */
    VAULT_REKEYED,
    /**
     * A vault behind its rollback mark was accepted on purpose ({@code brokerctl doctor
     * --accept-rollback}): {@code previous} (the mark's counter), {@code counter} (the vault's),
     * {@code source}.
     */
    ROLLBACK_ACCEPTED,
    /**
     * Entries the daemon could not write were given up (its queue of entries waiting for the disk
     * or for an unlock was full, or the vault it held was refused): {@code count}, {@code events}
     * (each kind given up as {@code kind:count}, e.g. {@code run_exited:2}), {@code reason} (why
     * they could not be written). Written with the next entry that could be; kinds and counts only,
     * never the lost entries' details.
     */
    RECORDS_LOST;

    /** The lower-case name used in output and JSON, e.g. {@code run_exited}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @throws IllegalArgumentException naming the text when it is no event */
    public static AuditEvent parse(String text) {
        for (AuditEvent e : values()) {
            if (e.name().equals(text) || e.id().equals(text)) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown audit event '" + text + "'");
    }
}

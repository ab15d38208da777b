package dev.brokerctl.protocol;

import java.util.Locale;

/** Stable error codes on the wire; the CLI and the MCP server branch on them. */
public enum ErrorCode {
    /** The request is not understood (malformed JSON, missing field, wrong type). */
    BAD_REQUEST,
    /** A frame larger than {@link Frame#MAX_FRAME_BYTES}. */
    FRAME_TOO_LARGE,
    /** Client and daemon speak different protocol versions. */
    UNSUPPORTED_PROTOCOL,
    /** The vault is locked; a human must run {@code brokerctl unlock}. */
    LOCKED,
    /** Only an approver (a connection that proved the passphrase) may do this. */
    NOT_APPROVER,
    WRONG_PASSPHRASE,
    /** An environment, variable or run that does not exist. */
    NOT_FOUND,
    /** A value that breaks a rule (a name, a duration, an argv). */
    INVALID,
    /** The thing to create exists already. */
    CONFLICT,
    /** A human denied the request, or nobody decided in time. */
    DENIED,
    /** The command to run does not exist (exit 127). */
    COMMAND_NOT_FOUND,
    /** The command exists but cannot be executed (exit 126). */
    COMMAND_NOT_EXECUTABLE,
    /** The vault file failed an integrity check. */
    VAULT_DAMAGED,
    /** Past a documented limit of requests or connections; wait, or let the human decide what is pending. */
    TOO_MANY,
    /**
     * Past the daemon's connection limits (in total, per process, or the queue of connections
     * that have not said hello yet, whose oldest is evicted); close idle connections and retry.
     */
    TOO_MANY_CONNECTIONS,
    /**
     * The client was too slow: no hello and first request within seconds of connecting, no
     * finished handshake, or a frame that did not arrive whole in time; the connection is closed.
     */
    TOO_SLOW,
    /**
     * A peer failed the handshake (it could not prove it holds the vault's key), or a sealed
     * message failed its check on the way; nothing more is sent on that connection.
     */
    NOT_AUTHENTIC,
    /**
     * The daemon stopped ({@code brokerctl stop}) while the run waited or ran; the command was
     * killed with it. The reply may carry the command's {@code exit_code}.
     */
    DAEMON_STOPPED,
    /** Anything else; the message says what. */
    INTERNAL;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ErrorCode fromWire(String s) {
        for (ErrorCode c : values()) {
            if (c.wire().equals(s)) {
                return c;
            }
        }
        return INTERNAL;
    }
}

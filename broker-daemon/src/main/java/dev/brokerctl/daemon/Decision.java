package dev.brokerctl.daemon;

/**
 * The outcome of a pending request. {@code decidedBy} is the deciding console's own label
 * (claimed); {@code decider} is what the daemon verified of that console's connection, or null
 * when no human decided (policy, grant, timeout). {@code narrowedTo}: the names a human let a
 * request for all of an environment's variables have, instead of all (null: as requested).
 */
record Decision(Kind kind, String message, String decidedBy, Peer decider, java.util.List<String> narrowedTo) {

    Decision {
        narrowedTo = narrowedTo == null ? null : java.util.List.copyOf(narrowedTo);
    }

    Decision(Kind kind, String message, String decidedBy) {
        this(kind, message, decidedBy, null, null);
    }

    Decision(Kind kind, String message, String decidedBy, Peer decider) {
        this(kind, message, decidedBy, decider, null);
    }

    enum Kind {
        /** A human approved this one request. */
        APPROVED,
        /** A human approved it and granted the same request for a while. */
        GRANTED,
        /** A live grant covered it. */
        GRANT,
        /** The environment's policy is auto. */
        AUTO,
        /** A human denied it. */
        DENIED,
        /** Nobody decided within the approval timeout. */
        TIMED_OUT,
        /** The requester went away or cancelled before a decision. */
        CANCELLED
    }

    boolean allowsRun() {
        return kind == Kind.APPROVED || kind == Kind.GRANTED || kind == Kind.GRANT || kind == Kind.AUTO;
    }
}

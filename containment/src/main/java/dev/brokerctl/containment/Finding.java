package dev.brokerctl.containment;

import java.util.Objects;

/**
 * One thing {@code brokerctl doctor} found about the host or the install: a stable {@code id}, how
 * it stands, a one-line {@code text} and the exact command or step that fixes it ({@code ""} when
 * there is nothing to do). Texts name files, settings and variable names, never a value.
 */
public record Finding(String id, Status status, String text, String fix) {

    /** How a finding stands. {@link #WARN} and {@link #FAIL} need fixing; the others do not. */
    public enum Status {
        /** As it should be. */
        OK("ok"),
        /** Worth knowing, nothing to fix (or nothing brokerctl can tell). */
        INFO("info"),
        /** A weakness a same-user process can use; brokerctl still works. */
        WARN("warn"),
        /** A protection brokerctl relies on does not work here. */
        FAIL("fail");

        private final String id;

        Status(String id) {
            this.id = id;
        }

        /** The lower-case name printed and written to JSON. */
        public String id() {
            return id;
        }

        public boolean needsFixing() {
            return this == WARN || this == FAIL;
        }
    }

    public Finding {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(fix, "fix");
    }

    static Finding ok(String id, String text) {
        return new Finding(id, Status.OK, text, "");
    }

    static Finding info(String id, String text) {
        return new Finding(id, Status.INFO, text, "");
    }

    static Finding info(String id, String text, String fix) {
        return new Finding(id, Status.INFO, text, fix);
    }

    static Finding warn(String id, String text, String fix) {
        return new Finding(id, Status.WARN, text, fix);
    }

    static Finding fail(String id, String text, String fix) {
        return new Finding(id, Status.FAIL, text, fix);
    }
}

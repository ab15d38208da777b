package dev.brokerctl.vault;

import java.util.Locale;

/** Approval policy of an environment. */
public enum Policy {
    /** Every run waits for a human decision (the default). */
    PROMPT,
    /** Runs start without a prompt. */
    AUTO;

    /** The lower-case name used on the command line and in JSON. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @throws IllegalArgumentException naming the accepted values */
    public static Policy parse(String text) {
        for (Policy p : values()) {
            if (p.id().equals(text)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown policy '" + text + "'; use prompt or auto");
    }
}

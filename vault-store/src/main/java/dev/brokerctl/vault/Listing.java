package dev.brokerctl.vault;

import java.util.List;

/**
 * Items that decrypted, plus one message for each row that failed its integrity check: one
 * damaged row does not hide the others.
 */
public record Listing<T>(List<T> items, List<String> damaged) {

    public Listing {
        items = List.copyOf(items);
        damaged = List.copyOf(damaged);
    }
}

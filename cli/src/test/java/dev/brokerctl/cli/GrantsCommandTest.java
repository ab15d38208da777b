package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class GrantsCommandTest {

    @Test
    void expiry_isPrintedToTheSecond() {
        assertEquals("2026-12-01 20:37:00Z", GrantsCommand.toSecond("2026-12-01T20:37:00.570415888Z"));
        assertEquals("not a time", GrantsCommand.toSecond("not a time"));
    }
}

package dev.brokerctl.vault.dotenv;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DotenvEntryTest {

    private static final String CANARY = DotenvParserTest.CANARY;

    private static DotenvEntry entry() {
        return new DotenvEntry("API_KEY", 4, CANARY.getBytes(UTF_8));
    }

    @Test
    void accessors_returnNameLineAndValue() {
        DotenvEntry entry = entry();
        assertEquals("API_KEY", entry.name());
        assertEquals(4, entry.line());
        assertArrayEquals(CANARY.getBytes(UTF_8), entry.valueBytes());
        assertEquals(CANARY.length(), entry.valueLength());
        assertFalse(entry.isDestroyed());
    }

    @Test
    void valueBytes_returnsTheInternalArray() {
        DotenvEntry entry = entry();
        assertSame(entry.valueBytes(), entry.valueBytes());
    }

    @Test
    void toString_printsNameAndLengthButNotValue() {
        String text = entry().toString();
        assertEquals("DotenvEntry[name=API_KEY, valueLength=" + CANARY.length() + "]", text);
        DotenvParserTest.assertNoCanary(text);
    }

    @Test
    void destroy_zeroesTheValue() {
        DotenvEntry entry = entry();
        byte[] value = entry.valueBytes();
        entry.destroy();
        assertArrayEquals(new byte[CANARY.length()], value);
        assertTrue(entry.isDestroyed());
    }

    @Test
    void destroy_isIdempotent() {
        DotenvEntry entry = entry();
        entry.destroy();
        entry.destroy();
        assertTrue(entry.isDestroyed());
    }

    @Test
    void valueBytes_afterDestroy_throws() {
        DotenvEntry entry = entry();
        entry.destroy();
        IllegalStateException e = assertThrows(IllegalStateException.class, entry::valueBytes);
        assertTrue(e.getMessage().contains("API_KEY"), e.getMessage());
        DotenvParserTest.assertNoCanary(e.getMessage());
    }

    @Test
    void toString_afterDestroy_saysDestroyed() {
        DotenvEntry entry = entry();
        entry.destroy();
        assertTrue(entry.toString().contains("destroyed"), entry.toString());
        assertEquals(CANARY.length(), entry.valueLength());
    }

    @Test
    void equals_isIdentity_soValuesAreNeverCompared() {
        assertNotEquals(entry(), entry());
    }
}

package dev.brokerctl.vault;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Passphrase handling: UTF-8 bytes without an intermediate String, zeroed by the caller. */
public final class Passphrases {

    /** Shortest passphrase {@code init} and {@code passwd} accept. */
    public static final int MIN_LENGTH = 8;

    private Passphrases() {
    }

    static byte[] utf8(char[] passphrase) {
        CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            ByteBuffer buf = encoder.encode(CharBuffer.wrap(passphrase));
            byte[] out = Arrays.copyOf(buf.array(), buf.limit());
            Arrays.fill(buf.array(), (byte) 0);
            return out;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the passphrase is not valid Unicode text");
        }
    }

    /** @throws IllegalArgumentException when a new passphrase is too weak to accept */
    public static void checkNew(char[] passphrase) {
        if (passphrase.length < MIN_LENGTH) {
            throw new IllegalArgumentException("the passphrase must have at least " + MIN_LENGTH
                    + " characters");
        }
    }
}

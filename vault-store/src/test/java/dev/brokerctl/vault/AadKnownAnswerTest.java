package dev.brokerctl.vault;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The AAD's exact bytes, written out by hand from its documented layout: every vault on disk was
 * sealed under it, so a change to any part (a field left out, reordered, resized) is a format
 * change, never a refactoring. Also shows each part is there: the vault id, environment id, item
 * id, field and extra bytes each appear at their place.
 */
class AadKnownAnswerTest {

    private static final byte[] VAULT_ID = HexFormat.of().parseHex("deadbeef");

    @Test
    void layout_isPrefixVersionVaultEnvironmentItemFieldExtra() {
        assertEquals("62726f6b657263746c2d616164"   // "brokerctl-aad"
                        + "01"                          // envelope version
                        + "0004" + "deadbeef"           // vault id, u16 length first
                        + "0000000000000007"            // environment id
                        + "000000000000002a"            // item id
                        + "000e" + "7661726961626c652e76616c7565"   // "variable.value"
                        + "00000002" + "0102",          // extra, u32 length first
                HexFormat.of().formatHex(Aad.of(VAULT_ID, 7, 42, Aad.Field.VARIABLE_VALUE, new byte[] {1, 2})));
    }

    /** "variable.meta" and "variable.name" have the same length: only the field's bytes tell them apart. */
    @Test
    void noExtra_isAZeroLength_andFieldsOfOneLengthDiffer() {
        assertEquals("62726f6b657263746c2d616164" + "01" + "0004deadbeef" + "0000000000000007" + "000000000000002a"
                        + "000d" + "7661726961626c652e6d657461" + "00000000",
                HexFormat.of().formatHex(Aad.of(VAULT_ID, 7, 42, Aad.Field.VARIABLE_META)));
        assertEquals(Aad.Field.VARIABLE_META.id.length(), Aad.Field.VARIABLE_NAME.id.length());
        assertEquals(false, java.util.Arrays.equals(Aad.of(VAULT_ID, 7, 42, Aad.Field.VARIABLE_META),
                Aad.of(VAULT_ID, 7, 42, Aad.Field.VARIABLE_NAME)));
    }
}

package dev.brokerctl.vault.crypto;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Each cap and floor at its exact edge: the edge is accepted, one past it refused, with the figures. */
class KdfParamsCapsTest {

    private static String refusal(int memoryKib, int iterations, int parallelism) {
        return assertThrows(IllegalArgumentException.class,
                () -> new KdfParams(memoryKib, iterations, parallelism).checkWithinCaps()).getMessage();
    }

    @Test
    void caps_acceptTheirEdges_andRefuseOnePast() {
        assertDoesNotThrow(() -> new KdfParams(1024 * 1024, 10, 4).checkWithinCaps());
        assertDoesNotThrow(() -> new KdfParams(8, 1, 1).checkWithinCaps());
        assertDoesNotThrow(() -> new KdfParams(32, 1, 4).checkWithinCaps());
        assertEquals("Argon2id parallelism 5 is outside 1..4", refusal(1024, 3, 5));
        assertEquals("Argon2id parallelism 0 is outside 1..4", refusal(1024, 3, 0));
        assertEquals("Argon2id iterations 11 is outside 1..10", refusal(1024, 11, 1));
        assertEquals("Argon2id iterations 0 is outside 1..10", refusal(1024, 0, 1));
        assertEquals("Argon2id memory 1048577 KiB is outside 8..1048576 KiB", refusal(1024 * 1024 + 1, 3, 1));
        assertEquals("Argon2id memory 31 KiB is outside 32..1048576 KiB", refusal(31, 3, 4));
        assertEquals("Argon2id memory 7 KiB is outside 8..1048576 KiB", refusal(7, 3, 1));
    }

    @Test
    void creationFloor_acceptsItsEdge_refusesBelow_andAppliesTheCapsToo() {
        assertDoesNotThrow(() -> new KdfParams(19 * 1024, 2, 1).checkCreationFloor());
        assertEquals("Argon2id memory 19455 KiB is below the minimum of 19 MiB for a new vault",
                assertThrows(IllegalArgumentException.class,
                        () -> new KdfParams(19 * 1024 - 1, 2, 1).checkCreationFloor()).getMessage());
        assertEquals("Argon2id memory 18 MiB is below the minimum of 19 MiB for a new vault",
                assertThrows(IllegalArgumentException.class,
                        () -> new KdfParams(18 * 1024, 2, 1).checkCreationFloor()).getMessage());
        assertEquals("Argon2id iterations 1 is below the minimum of 2 for a new vault",
                assertThrows(IllegalArgumentException.class,
                        () -> new KdfParams(19 * 1024, 1, 1).checkCreationFloor()).getMessage());
        assertEquals("Argon2id iterations 11 is outside 1..10", assertThrows(IllegalArgumentException.class,
                () -> new KdfParams(19 * 1024, 11, 1).checkCreationFloor()).getMessage());
        assertDoesNotThrow(() -> KdfParams.insecureForTests(256, 1, 1).checkCreationFloor());
    }

    @Test
    void equalityIsTheCosts_andTheStringShowsThem() {
        assertEquals(new KdfParams(1024, 3, 1), KdfParams.insecureForTests(1024, 3, 1));
        assertEquals(false, new KdfParams(1024, 3, 1).equals(new KdfParams(1024, 3, 2)));
        assertEquals(false, new KdfParams(1024, 3, 1).equals(new KdfParams(1024, 4, 1)));
        assertEquals(false, new KdfParams(1024, 3, 1).equals(new KdfParams(2048, 3, 1)));
        assertEquals("KdfParams[m=1024 KiB, t=3, p=1]", new KdfParams(1024, 3, 1).toString());
        assertEquals("KdfParams[m=256 KiB, t=1, p=1, insecure for tests]", KdfParams.insecureForTests(256, 1, 1).toString());
        assertEquals(new KdfParams(8 * 1024, 3, 1), KdfParams.withMemoryMib(8));
        assertEquals(new KdfParams(19 * 1024, 2, 1), new KdfParams(1024, 1, 1).atLeastFloor());
    }
}

package dev.brokerctl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/** {@link RunMain}'s start-up shortcuts change nothing the JDK would have chosen. */
class RunMainTest {

    @Test
    void theSelectorProviderItNames_isTheOneTheJdkPicksByItself() {
        assumeTrue("Linux".equals(System.getProperty("os.name")));
        String before = System.getProperty(RunMain.SELECTOR_PROVIDER);
        try {
            System.clearProperty(RunMain.SELECTOR_PROVIDER);
            RunMain.defaultSelectorProvider();
            // this JVM chose its provider without the property (or before it was set): the JDK's own
            assertEquals(java.nio.channels.spi.SelectorProvider.provider().getClass().getName(),
                    System.getProperty(RunMain.SELECTOR_PROVIDER));
        } finally {
            if (before == null) {
                System.clearProperty(RunMain.SELECTOR_PROVIDER);
            } else {
                System.setProperty(RunMain.SELECTOR_PROVIDER, before);
            }
        }
    }

    @Test
    void aSelectorProviderGivenByTheUser_isKept() {
        String before = System.getProperty(RunMain.SELECTOR_PROVIDER);
        try {
            System.setProperty(RunMain.SELECTOR_PROVIDER, "example.Provider");
            RunMain.defaultSelectorProvider();
            assertEquals("example.Provider", System.getProperty(RunMain.SELECTOR_PROVIDER));
        } finally {
            if (before == null) {
                System.clearProperty(RunMain.SELECTOR_PROVIDER);
            } else {
                System.setProperty(RunMain.SELECTOR_PROVIDER, before);
            }
        }
    }
}

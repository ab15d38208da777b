package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/** A flood of refused connections writes a bounded number of lines, and says how many it left out. */
class LogTest {

    /** A logger that keeps its lines. */
    static final class Lines extends LegacyAbstractLogger {
        final List<String> lines = new ArrayList<>();

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected void handleNormalizedLoggingCall(Level level, Marker marker, String format, Object[] args,
                Throwable t) {
            lines.add(MessageFormatter.basicArrayFormat(format, args));
        }

        @Override
        public boolean isTraceEnabled() {
            return true;
        }

        @Override
        public boolean isDebugEnabled() {
            return true;
        }

        @Override
        public boolean isInfoEnabled() {
            return true;
        }

        @Override
        public boolean isWarnEnabled() {
            return true;
        }

        @Override
        public boolean isErrorEnabled() {
            return true;
        }
    }

    @Test
    void perConnectionWarnings_areCappedPerWindow_andTheRestIsCounted() {
        Log.newWindow();
        Log.perConnection(new Lines(), "what other tests left in the window goes here");
        Lines log = new Lines();
        Log.newWindow();
        for (int i = 0; i < 1000; i++) {
            Log.perConnection(log, "refused a connection of pid {}: {}", i, "too many");
        }
        assertEquals(Log.PER_CONNECTION_LINES, log.lines.size(), "1,000 refusals, 20 lines");
        assertEquals("refused a connection of pid 0: too many", log.lines.get(0));
        assertFalse(log.lines.stream().anyMatch(l -> l.contains("not written")));

        Log.newWindow();   // the next window: the count of what was left out comes first
        Log.perConnection(log, "refused a connection of pid {}: {}", 1000, "too many");
        assertEquals(Log.PER_CONNECTION_LINES + 2, log.lines.size());
        String summary = log.lines.get(Log.PER_CONNECTION_LINES);
        assertTrue(summary.startsWith("980 more warnings about single connections were not written"), summary);
        assertEquals("refused a connection of pid 1000: too many", log.lines.get(Log.PER_CONNECTION_LINES + 1));
    }
}

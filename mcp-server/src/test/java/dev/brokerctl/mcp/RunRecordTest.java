package dev.brokerctl.mcp;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RunRecordTest {

    @Test
    void runView_toStringShowsStateAndSizes_notOutput() {
        RunRecord.RunView v = new RunRecord.RunView(RunRecord.Status.COMPLETED, 7L, 0L, "token=sk_live_abc",
                "password: hunter2", false, false, 12L, 0L, "the command exited with code 0");
        String s = v.toString();
        assertFalse(s.contains("sk_live_abc") || s.contains("hunter2"), s);
        assertTrue(s.contains("completed") && s.contains("7"), s);
    }
}

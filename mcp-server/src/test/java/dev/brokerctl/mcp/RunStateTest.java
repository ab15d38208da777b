package dev.brokerctl.mcp;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.Message;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The text an agent reads of a finished run says when the human narrowed its variables. */
class RunStateTest {

    private static Message completed(boolean narrowed) {
        return Message.of("run_state").with("handle", "r_x").with("run_id", 7L).with("exit_code", 0L)
                .with("variables", narrowed ? List.of("TOKEN") : List.of("*")).with("narrowed", narrowed);
    }

    @Test
    void aNarrowedRun_saysWhichVariablesItGot() throws Exception {
        String text = RunState.message(completed(true), "completed");
        assertTrue(text.contains("the human narrowed the variables to TOKEN: the others were not injected"), text);
        assertFalse(RunState.message(completed(false), "completed").contains("narrowed"));
    }
}

package dev.brokerctl.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * stdin is written by the run's own task: a command that never reads its stdin cannot block the
 * connection that carries its signals, cancel and EOF.
 */
@Timeout(30)   // a writer on the connection's thread hangs here: fail, do not hang
class StdinFlowTest {

    @TempDir
    Path tmp;
    DaemonFixture f;

    @AfterEach
    void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    private BrokerClient startNonReader() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        BrokerClient c = f.connect();
        c.send(DaemonProtocolTest.runMessage("dev", List.of("sleep", "60")).with("stdin", true));
        Message started = Message.parse(c.receive().payload());
        assertEquals("started", started.type());
        return c;
    }

    @Test
    void aFullWindowOfStdin_forACommandThatNeverReads_stillLetsASignalThrough() throws Exception {
        try (BrokerClient c = startNonReader()) {
            byte[] chunk = new byte[Frame.MAX_DATA_CHUNK];
            // a whole window: far more than the 64 KiB a pipe holds, so a writer on the
            // connection's thread would block on the second chunk
            for (int sent = 0; sent + chunk.length <= Frame.STDIN_WINDOW; sent += chunk.length) {
                c.sendData(Frame.STDIN, chunk, 0, chunk.length);
            }
            c.send(Message.of("signal").with("signal", 15));
            DaemonProtocolTest.RunResult r = DaemonProtocolTest.collect(c);
            assertEquals("exit", r.last().type());
            assertEquals(128 + 15, r.last().number("exit_code", -1));
        }
    }

    @Test
    void stdinPastTheWindow_stopsTheRunWithAClearError() throws Exception {
        try (BrokerClient c = startNonReader()) {
            byte[] chunk = new byte[Frame.MAX_DATA_CHUNK];
            // twice the window: what the command took from its pipe is acknowledged, so one
            // window past the acks is certainly too much
            for (int sent = 0; sent <= 2 * Frame.STDIN_WINDOW; sent += chunk.length) {
                c.sendData(Frame.STDIN, chunk, 0, chunk.length);
            }
            boolean sawError = false;
            while (true) {
                Frame fr = c.receive();
                if (fr == null) {
                    break;
                }
                if (fr.kind() != Frame.JSON) {
                    continue;
                }
                Message m = Message.parse(fr.payload());
                if (m.type().equals("error")) {
                    sawError = true;
                    assertTrue(m.string("message").contains("flow-control window"), m.string("message"));
                }
                if (m.type().equals("exit")) {
                    assertEquals(128 + 9, m.number("exit_code", -1), "killed");
                    break;
                }
            }
            assertTrue(sawError);
        }
    }

    @Test
    void stdinIsWrittenAndAcknowledged_thenEofReachesTheCommand() throws Exception {
        f = new DaemonFixture(tmp).start(Duration.ofSeconds(120), true);
        try (BrokerClient c = f.connect()) {
            c.send(DaemonProtocolTest.runMessage("dev", List.of("wc", "-c")).with("stdin", true));
            assertEquals("started", Message.parse(c.receive().payload()).type());
            byte[] data = "hello stdin\n".getBytes(StandardCharsets.UTF_8);
            c.sendData(Frame.STDIN, data, 0, data.length);
            c.sendData(Frame.STDIN_EOF, data, 0, 0);
            long acked = -1;
            StringBuilder out = new StringBuilder();
            while (true) {
                Frame fr = c.receive();
                if (fr.kind() == Frame.STDOUT) {
                    out.append(new String(fr.payload(), StandardCharsets.UTF_8));
                    continue;
                }
                Message m = Message.parse(fr.payload());
                if (m.type().equals("stdin_ack")) {
                    acked = m.number("bytes", -1);
                }
                if (m.type().equals("exit")) {
                    assertEquals(0, m.number("exit_code", -1));
                    break;
                }
            }
            assertEquals(data.length, acked);
            assertEquals(String.valueOf(data.length), out.toString().trim());
        }
    }
}

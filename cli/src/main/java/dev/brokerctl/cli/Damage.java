package dev.brokerctl.cli;

import java.io.PrintWriter;
import java.util.List;

/** Reports rows that failed their integrity check; the listing around them still printed. */
final class Damage {

    private Damage() {
    }

    static int report(PrintWriter err, List<String> damaged) {
        for (String d : damaged) {
            err.println("brokerctl: " + d);
        }
        err.flush();
        return damaged.isEmpty() ? ExitCodes.OK : ExitCodes.FAILURE;
    }
}

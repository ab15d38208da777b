package dev.brokerctl.cli;

import sun.misc.Signal;
import sun.misc.SignalHandler;

/** Ctrl-C, SIGTERM and SIGHUP on the CLI go to the command the daemon runs. */
final class Signals {

    private Signals() {
    }

    static void forward(RunClient run) {
        // an anonymous class, not a lambda: lambdas cost start-up time on the `run` path
        SignalHandler handler = new SignalHandler() {
            @Override
            public void handle(Signal s) {
                run.signal(s.getNumber());
            }
        };
        for (String name : new String[] {"INT", "TERM", "HUP"}) {
            try {
                Signal.handle(new Signal(name), handler);
            } catch (IllegalArgumentException e) {
                // signal not available here (or reserved by the JVM): keep the default action
            }
        }
    }
}

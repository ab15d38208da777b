package dev.brokerctl.cli;

import sun.misc.Signal;

/** Ctrl-C, SIGTERM and SIGHUP on the CLI go to the command the daemon runs. */
final class Signals {

    private Signals() {
    }

    static void forward(RunClient run) {
        for (String name : new String[] {"INT", "TERM", "HUP"}) {
            try {
                Signal.handle(new Signal(name), s -> run.signal(s.getNumber()));
            } catch (IllegalArgumentException e) {
                // signal not available here (or reserved by the JVM): keep the default action
            }
        }
    }
}

package dev.brokerctl.cli;

/**
 * The entry point of {@code brokerctl-run.jar}, the small jar the launcher starts for
 * {@code brokerctl run}: the run client, the protocol and jackson-core, with its own AppCDS
 * archive. It must not touch picocli or anything else outside that jar on the run path; opening
 * the full jar alone costs more start-up than the rest of the client. Anything else (help, a
 * usage error, another command) goes to {@link Main}, whose classes the JVM then loads from
 * {@code brokerctl.jar} next to this jar (the manifest's Class-Path).
 */
public final class RunMain {

    private RunMain() {
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("run")) {
            defaultSelectorProvider();
            dev.brokerctl.protocol.BrokerClient.prepareConnect();   // meanwhile the request is built
            Integer fast = fastRun(args);
            if (fast != null) {
                System.exit(fast);
            }
        }
        System.exit(Main.execute(args));
    }

    /** The property that names the JDK's {@code SelectorProvider}; unset, the JDK looks on the class path. */
    static final String SELECTOR_PROVIDER = "java.nio.channels.spi.SelectorProvider";
    /** The JDK's {@code SelectorProvider} on Linux. */
    static final String LINUX_SELECTOR_PROVIDER = "sun.nio.ch.EPollSelectorProvider";

    /**
     * Names the JDK's own Linux {@code SelectorProvider}, the one it picks anyway, so that its
     * first socket does not look for one in the jars on the class path: through this jar's
     * Class-Path that opens and indexes brokerctl.jar (10,000 entries), ~15 ms of CPU on every
     * {@code brokerctl run}. Set only when unset, and on Linux only (elsewhere the JDK's is another).
     */
    static void defaultSelectorProvider() {
        if (System.getProperty(SELECTOR_PROVIDER) != null || !"Linux".equals(System.getProperty("os.name"))) {
            return;
        }
        try {
            Class.forName(LINUX_SELECTOR_PROVIDER, false, null);   // a JDK without it keeps the JDK's lookup
            System.setProperty(SELECTOR_PROVIDER, LINUX_SELECTOR_PROVIDER);
        } catch (ClassNotFoundException e) {
            // the JDK looks for its provider as it always does
        }
    }

    /** {@code brokerctl run} without picocli; null when the arguments need picocli's parser. */
    static Integer fastRun(String[] args) {
        try {
            return RunCommand.fast(args);
        } catch (CliException e) {
            System.err.println("brokerctl: " + e.getMessage());
            return e.exitCode();
        } catch (IllegalArgumentException e) {
            System.err.println("brokerctl: " + e.getMessage());
            return ExitCodes.USAGE;
        } catch (Exception e) {
            System.err.println("brokerctl: " + e.getMessage());
            return RunClient.BROKER_FAILED;
        }
    }

    /** "brokerctl VERSION" from the jar's manifest ("dev" in a build tree without one). */
    static String version() {
        String v = RunMain.class.getPackage().getImplementationVersion();
        return "brokerctl " + (v == null ? "dev" : v);
    }
}

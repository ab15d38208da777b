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
            Integer fast = fastRun(args);
            if (fast != null) {
                System.exit(fast);
            }
        }
        System.exit(Main.execute(args));
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

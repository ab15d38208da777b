package dev.brokerctl.protocol;

/** A failure reported by the daemon, or of talking to it, with a stable code. */
public class BrokerException extends Exception {

    private final ErrorCode code;

    public BrokerException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public BrokerException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }
}

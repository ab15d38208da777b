package dev.brokerctl.protocol;

/** No daemon answers on the socket. */
public final class DaemonUnavailableException extends BrokerException {

    public DaemonUnavailableException(String message, Throwable cause) {
        super(ErrorCode.INTERNAL, message, cause);
    }
}

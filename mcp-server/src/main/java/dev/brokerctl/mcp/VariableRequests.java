package dev.brokerctl.mcp;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import dev.brokerctl.protocol.Workers;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Requests for a variable the human has not stored yet. The value goes from the human's console
 * to the vault; this side only learns whether it arrived. A request keeps its connection open
 * while it waits (closing it withdraws the request). A second {@code request_variable} for the
 * same environment and name waits on the first instead of asking the human twice, and gets its
 * outcome if the human answered between the two calls.
 */
final class VariableRequests {

    enum Status {
        PENDING, PROVIDED, EXISTS, DECLINED, TIMED_OUT, FAILED;

        String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The latest request per environment/name. */
    private final Map<String, Request> latest = new LinkedHashMap<>();
    private final List<Request> all = new ArrayList<>();
    private final McpLog log;
    private boolean closed;

    private final Workers readers;

    VariableRequests(McpLog log, Workers readers) {
        this.readers = readers;
        this.log = log;
    }

    /**
     * The request for this variable a call should wait on: one still pending, or one whose outcome
     * no call has reported yet (the human answered between two calls). Null when a call should
     * ask anew.
     */
    synchronized Request current(String environment, String name) {
        Request r = latest.get(environment + "/" + name);
        return r != null && !r.reported() ? r : null;
    }

    /** Sends a new request on {@code client}, which the request then owns. */
    Request start(BrokerClient client, String environment, String name, String description) throws BrokerException {
        Request r = new Request(client, environment, name);
        synchronized (this) {
            if (closed) {
                client.close();
                throw new BrokerException(dev.brokerctl.protocol.ErrorCode.INTERNAL, "the MCP session is ending");
            }
            latest.put(environment + "/" + name, r);
            all.removeIf(old -> old.status() != Status.PENDING);
            all.add(r);
        }
        try {
            client.send(Message.of("request_variable").with("environment", environment).with("name", name)
                    .with("description", description));
        } catch (BrokerException e) {
            r.close();
            synchronized (this) {
                latest.remove(environment + "/" + name);
            }
            throw e;
        }
        readers.execute("mcp-variable-" + environment + "-" + name, r::read);
        return r;
    }

    /** The session ends: calls waiting on a request return now (the request stays with the daemon until closed). */
    void stopWaiting() {
        List<Request> copy;
        synchronized (this) {
            copy = new ArrayList<>(all);
        }
        copy.forEach(Request::wake);
    }

    void closeAll() {
        List<Request> copy;
        synchronized (this) {
            closed = true;
            copy = new ArrayList<>(all);
        }
        copy.forEach(Request::close);
    }

    /** One request; the daemon answers on its connection. */
    final class Request implements Waitable {

        private final BrokerClient client;
        private final String environment;
        private final String name;
        private Status status = Status.PENDING;
        private long requestId = -1;
        private long timeoutMs;
        private String errorCode = "";
        private String detail = "";
        private boolean closing;

        private Request(BrokerClient client, String environment, String name) {
            this.client = client;
            this.environment = environment;
            this.name = name;
        }

        private void read() {
            try {
                while (true) {
                    Frame f = client.receive();
                    if (f == null) {
                        settle(Status.FAILED, "internal", "the daemon closed the connection before answering");
                        return;
                    }
                    if (f.kind() != Frame.JSON) {
                        settle(Status.FAILED, "internal", "the daemon sent an unexpected " + f);
                        return;
                    }
                    if (control(Message.parse(f.payload()))) {
                        return;
                    }
                }
            } catch (BrokerException e) {
                settle(Status.FAILED, "internal", e.getMessage());
            } finally {
                client.close();
            }
        }

        private boolean control(Message m) throws BrokerException {
            switch (m.type()) {
                case "pending_variable" -> {
                    synchronized (this) {
                        requestId = m.number("request_id", -1);
                        timeoutMs = m.number("timeout_ms", 0);
                    }
                    synchronized (this) {
                        notifyAll();
                    }
                    log.info("variable request " + requestId + " (" + environment + "/" + name + ") waits for the human");
                    return false;
                }
                case "variable_provided" -> settle(Status.PROVIDED, "", "");
                case "variable_declined" -> settle(Status.DECLINED, "", m.string("message", ""));
                case "error" -> {
                    if ("conflict".equals(m.string("code", ""))) {
                        settle(Status.EXISTS, "", m.string("message", ""));
                    } else {
                        settle(Status.FAILED, m.string("code", "internal"),
                                m.string("message", "the daemon reported an error"));
                    }
                }
                case "denied" -> settle("timed_out".equals(m.string("reason", "")) ? Status.TIMED_OUT : Status.DECLINED,
                        "", m.string("message", ""));
                default -> {
                    return false;
                }
            }
            return true;
        }

        private void settle(Status s, String code, String message) {
            synchronized (this) {
                if (status != Status.PENDING || closing) {
                    return;
                }
                status = s;
                errorCode = code;
                detail = message == null ? "" : message;
                notifyAll();
            }
            log.info("variable request " + (requestId >= 0 ? requestId + " " : "") + "(" + environment + "/" + name
                    + ") " + s.wire());
        }

        synchronized Status status() {
            return status;
        }

        synchronized long requestId() {
            return requestId;
        }

        private synchronized void wake() {
            notifyAll();
        }

        /** Waits for the daemon's first answer: the request is pending before the human, or settled. */
        synchronized void awaitAnswered(long millis) throws InterruptedException {
            long deadline = System.nanoTime() + millis * 1_000_000L;
            while (requestId < 0 && status == Status.PENDING && !closing) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    return;
                }
                wait(left);
            }
        }

        private boolean reported;

        /** Whether a call has returned this request's final outcome. */
        synchronized boolean reported() {
            return reported;
        }

        /** Marks the outcome as returned to the agent, once the request has settled. */
        synchronized void reportedIfSettled() {
            if (status != Status.PENDING) {
                reported = true;
            }
        }

        /** Answered, or closed with the session. */
        @Override
        public synchronized boolean settled() {
            return status != Status.PENDING || closing;
        }

        @Override
        public synchronized String progressMessage() {
            return "waiting for the human to enter " + name + " (environment '" + environment + "')";
        }

        @Override
        public synchronized boolean awaitSettled(long millis) throws InterruptedException {
            return Waitable.waitUntilSettled(this, millis);
        }

        /** An error reply's wire code, when {@link Status#FAILED}. */
        synchronized String errorCode() {
            return errorCode;
        }

        synchronized String detail() {
            return detail;
        }

        synchronized String message() {
            String v = name + " in environment '" + environment + "'";
            return switch (status) {
                case PENDING -> requestId < 0
                        ? "the request for " + v + " was sent to the brokerctl daemon, which has not answered yet;"
                                + " call request_variable again with the same environment and name to see its answer"
                        : "waiting for the human to enter the value of " + v + " in their brokerctl console"
                        + " (request " + requestId + ")"
                        + (timeoutMs > 0 ? "; the request expires after " + timeoutMs / 1000 + " s" : "")
                        + "; call request_variable again with the same environment and name to keep waiting";
                case EXISTS -> v + " exists already; use it with run_command (variables: [\"" + name + "\"]); its"
                        + " value is never shown to you. If it holds the wrong value, ask the human to change it with:"
                        + " brokerctl set " + environment + " " + name;
                case PROVIDED -> "the human stored " + v + "; use it with run_command (variables: [\"" + name
                        + "\"]); its value is never shown to you";
                case DECLINED -> "the human declined to provide " + v + (detail.isEmpty() ? "" : ": " + detail)
                        + "; do not ask again unchanged";
                case TIMED_OUT -> "nobody entered " + v + " in time" + (detail.isEmpty() ? "" : " (" + detail + ")")
                        + "; ask the human to watch their brokerctl console, then call request_variable again";
                case FAILED -> detail;
            };
        }

        void close() {
            synchronized (this) {
                closing = true;
                notifyAll();
            }
            client.close();
        }

        @Override
        public String toString() {
            return "VariableRequest[" + environment + "/" + name + ", " + status() + "]";
        }
    }
}

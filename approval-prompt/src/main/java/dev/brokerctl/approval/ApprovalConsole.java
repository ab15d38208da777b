package dev.brokerctl.approval;

import dev.brokerctl.protocol.BrokerClient;
import dev.brokerctl.protocol.BrokerException;
import dev.brokerctl.protocol.Durations;
import dev.brokerctl.protocol.Frame;
import dev.brokerctl.protocol.Message;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A human's console for pending requests: it watches the daemon, shows each request (what will
 * run, with which variable names, where, why, for whom, and risk hints) and reads a decision
 * line by line from plain text input, so a terminal, tmux or a screen reader can drive it.
 * Approving or granting needs the request's one-time code typed back. Several consoles may be
 * open; the first decision wins and the others say who decided.
 *
 * <p>One event loop: daemon frames and input lines arrive on one queue, so a request decided
 * elsewhere while this console is prompting is withdrawn from the prompt at once.
 */
public final class ApprovalConsole {

    /** Reads a value without echo for a variable the agent asked for; null when declined. */
    public interface SecretReader {
        char[] read(String prompt) throws IOException;
    }

    private record Input(String line) {
    }

    private record Event(Message message) {
    }

    /** The daemon connection ended; {@code why} is said when it was not a plain end. */
    private record Closed(String why) {
    }

    private enum Step { CHOOSE, NARROW, CODE_APPROVE, GRANT_LENGTH, CODE_GRANT, DENY_MESSAGE, VARIABLE_CHOOSE, VARIABLE_DECLINE }

    private final BrokerClient client;
    private final BufferedReader in;
    private final PrintStream out;
    private final String name;
    private final String ownTty;
    private final boolean color;
    private final int width;
    private final SecretReader secrets;
    private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
    /** The input thread reads a line only when asked: a secret can then be read on this thread. */
    private final java.util.concurrent.Semaphore wantLine = new java.util.concurrent.Semaphore(0);
    private boolean lineRequested;
    private final Deque<Message> queue = new ArrayDeque<>();
    private Message current;
    private Step step;
    private Duration grantLength;
    /** The names the human narrowed the current request for all variables to, or null. */
    private List<String> narrowed;
    private boolean awaitingReply;

    public ApprovalConsole(BrokerClient approver, BufferedReader in, PrintStream out, String name, String ownTty,
            boolean color, SecretReader secrets) {
        this(approver, in, out, name, ownTty, color, secrets, RequestView.DEFAULT_WIDTH);
    }

    /** @param width the terminal's columns; 0 when unknown (then {@value RequestView#DEFAULT_WIDTH}) */
    public ApprovalConsole(BrokerClient approver, BufferedReader in, PrintStream out, String name, String ownTty,
            boolean color, SecretReader secrets, int width) {
        this.client = approver;
        this.in = in;
        this.out = out;
        this.name = name;
        this.ownTty = ownTty == null ? "" : ownTty;
        this.color = color;
        this.secrets = secrets;
        this.width = width <= 0 ? RequestView.DEFAULT_WIDTH : width;
    }

    /** Runs until the input ends or the daemon goes away. */
    public void run() throws BrokerException, InterruptedException {
        Message pending = client.call(Message.of("pending_list"));
        for (Message r : pending.messages("runs")) {
            queue.add(Message.of("run").with("run", r.asMap()));
        }
        for (Message v : pending.messages("variables")) {
            queue.add(Message.of("variable").with("variable", v.asMap()));
        }
        client.call(Message.of("watch"));
        startReaders();
        say("watching for requests as " + name + " (end with Ctrl-D)");
        next();
        while (true) {
            Object e = events.take();
            if (e instanceof Closed c) {
                if (c.why() != null) {
                    say("STOPPED: " + c.why());
                }
                return;
            }
            if (e instanceof Event ev) {
                onMessage(ev.message());
            } else if (e instanceof Input line) {
                lineRequested = false;
                if (line.line() == null) {
                    say("input ended; this console stops (pending requests stay pending)");
                    return;
                }
                onInput(line.line().trim());
            }
        }
    }

    private void startReaders() {
        Thread frames = new Thread(() -> {
            try {
                Frame f;
                while ((f = client.receive()) != null) {
                    if (f.kind() == Frame.JSON) {
                        events.add(new Event(Message.parse(f.payload())));
                    }
                }
            } catch (BrokerException e) {
                // connection gone; a sealed message that did not open is said, never ignored
                if (e.code() == dev.brokerctl.protocol.ErrorCode.NOT_AUTHENTIC) {
                    events.add(new Closed(e.getMessage()));
                    return;
                }
            }
            events.add(new Closed(null));
        }, "console-daemon-reader");
        frames.setDaemon(true);
        frames.start();
        Thread input = new Thread(() -> {
            try {
                String line;
                do {
                    wantLine.acquire();
                    line = in.readLine();
                    events.add(new Input(line));
                } while (line != null);
            } catch (IOException e) {
                events.add(new Input(null));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "console-input-reader");
        input.setDaemon(true);
        input.start();
    }

    private void requestLine() {
        if (!lineRequested) {
            lineRequested = true;
            wantLine.release();
        }
    }

    // ------------------------------------------------------------------ daemon events

    private void onMessage(Message m) throws BrokerException {
        switch (m.type()) {
            case "pending_added" -> {
                Message item = m.has("run") ? Message.of("run").with("run", m.asMap().get("run"))
                        : Message.of("variable").with("variable", m.asMap().get("variable"));
                queue.add(item);
                if (current == null) {
                    next();
                }
            }
            case "pending_removed" -> {
                long id = m.has("run_id") ? m.number("run_id", -1) : m.number("request_id", -1);
                queue.removeIf(q -> idOf(q) == id);
                if (current != null && idOf(current) == id) {
                    String by = m.string("decided_by", "");
                    String outcome = ConsoleText.line(m.string("outcome", "decided"), 20);
                    say(by.equals(name) ? "request " + id + ": " + outcome
                            : "request " + id + " is no longer pending: " + outcome
                                    + (by.isEmpty() ? "" : " by " + ConsoleText.line(by, width / 2)));
                    current = null;
                    awaitingReply = false;
                    next();
                }
            }
            case "ok" -> {
                awaitingReply = false;
                if (current != null && current.type().equals("variable")) {
                    say("stored");
                }
            }
            case "error" -> {
                awaitingReply = false;
                say("not done: " + ConsoleText.line(m.string("message", "the daemon refused"), width - 10));
                if (current != null) {
                    prompt();
                }
            }
            default -> {
                // other pushes are not for consoles
            }
        }
    }

    private static long idOf(Message item) {
        Object inner = item.asMap().get(item.type());
        if (inner instanceof java.util.Map<?, ?> map) {
            Object id = map.containsKey("run_id") ? map.get("run_id") : map.get("request_id");
            return id instanceof Number n ? n.longValue() : -1;
        }
        return -1;
    }

    // ------------------------------------------------------------------ the human

    private void next() throws BrokerException {
        while (current == null && !queue.isEmpty()) {
            Message item = queue.poll();
            Message body = inner(item);
            if (item.type().equals("run") && !ownTty.isEmpty() && ownTty.equals(tty(body))) {
                say("run " + body.number("run_id", -1) + " comes from this terminal; decide it from another"
                        + " console (brokerctl approve). It keeps waiting.");
                continue;
            }
            current = item;
            show();
            step = item.type().equals("run") ? Step.CHOOSE : Step.VARIABLE_CHOOSE;
            prompt();
        }
    }

    /** The requester's terminal as the daemon verified it (older daemons send it flat). */
    private static String tty(Message r) throws BrokerException {
        Message verified = r.message("verified");
        return verified != null ? verified.string("tty", "") : r.string("tty", "");
    }

    /** A queued item is {@code {type: "run"|"variable", <type>: {...}}}: the request itself. */
    private static Message inner(Message item) throws BrokerException {
        return item.message(item.type());
    }

    private void show() throws BrokerException {
        Message r = inner(current);
        out.println();
        print(current.type().equals("variable") ? RequestView.variable(r, width, color) : RequestView.run(r, width, color));
    }

    /** Details asked for with v, f or r; then what runs and the code again, next to the prompt. */
    private void details(List<String> lines) throws BrokerException {
        print(lines);
        if (current.type().equals("run")) {
            print(RequestView.commandAndCode(inner(current), width, color));
        }
    }

    private void print(List<String> lines) {
        for (String l : lines) {
            out.println(l);
        }
        out.flush();
    }

    /** The request on screen asks for all of its environment's variables. */
    private boolean allVariables() {
        try {
            return current != null && current.type().equals("run") && inner(current).bool("all_variables", false);
        } catch (BrokerException e) {
            return false;
        }
    }

    private void prompt() {
        String text = switch (step) {
            case CHOOSE -> allVariables()
                    ? "[a]pprove once, [g]rant for a while, [n]arrow the variables, [d]eny, [s]kip; [v]/[f]/[r] details? "
                    : "[a]pprove once, [g]rant for a while, [d]eny, [s]kip; [v]/[f]/[r] details? ";
            case NARROW -> "inject only these variables (names, space-separated; empty: back): ";
            case CODE_APPROVE, CODE_GRANT -> "type the code shown above to confirm: ";
            case GRANT_LENGTH -> "grant for how long (up to 8h)? [15m] ";
            case DENY_MESSAGE -> "message to the requester (optional): ";
            case VARIABLE_CHOOSE -> "[p]rovide a value, [d]ecline, [s]kip; [r]isks? ";
            case VARIABLE_DECLINE -> "message to the requester (optional): ";
        };
        out.print(text);
        out.flush();
        requestLine();
    }

    private void onInput(String line) throws BrokerException {
        if (current == null || awaitingReply) {
            if (current != null) {
                requestLine();
            }
            return;   // keystrokes without a request on screen decide nothing
        }
        Message r = inner(current);
        switch (step) {
            case CHOOSE -> {
                switch (line.toLowerCase(java.util.Locale.ROOT)) {
                    case "a", "approve" -> {
                        narrowed = null;
                        step = Step.CODE_APPROVE;
                    }
                    case "n", "narrow" -> {
                        if (allVariables()) {
                            step = Step.NARROW;
                        } else {
                            say("this request names its variables; only a request for all of them can be narrowed");
                        }
                    }
                    case "g", "grant" -> {
                        say("a grant lets this exact request run again without asking, whatever code the requester"
                                + " changes in cwd meanwhile");
                        step = Step.GRANT_LENGTH;
                    }
                    case "d", "deny" -> step = Step.DENY_MESSAGE;
                    case "s", "skip" -> {
                        queue.add(current);
                        current = null;
                        next();
                        return;
                    }
                    case "v" -> details(RequestView.overrides(r));
                    case "f" -> details(RequestView.fullCommand(r, width));
                    case "r" -> details(RequestView.risks(r, width));
                    default -> say("answer a, g, " + (allVariables() ? "n (narrow the variables), " : "")
                            + "d, s, v (changed variables), f (full command) or r (risks)");
                }
                prompt();
            }
            case NARROW -> {
                List<String> names = line.isBlank() ? List.of() : List.of(line.trim().split("[\\s,]+"));
                List<String> all = r.strings("variables");
                List<String> unknown = names.stream().filter(n -> all == null || !all.contains(n)).toList();
                if (names.isEmpty()) {
                    step = Step.CHOOSE;
                } else if (!unknown.isEmpty()) {
                    say("not a variable of this environment: " + ConsoleText.line(String.join(" ", unknown), width)
                            + "; it has " + String.join(" ", all == null ? List.of() : all));
                } else {
                    narrowed = List.copyOf(new java.util.LinkedHashSet<>(names));
                    say("the command will get only " + String.join(", ", narrowed));
                    step = Step.CODE_APPROVE;
                }
                prompt();
            }
            case GRANT_LENGTH -> {
                try {
                    grantLength = line.isEmpty() ? Duration.ofMinutes(15) : Durations.parse(line);
                    if (grantLength.isZero() || grantLength.compareTo(Duration.ofHours(8)) > 0) {
                        throw new IllegalArgumentException("a grant lasts from 1s to 8h");
                    }
                    step = Step.CODE_GRANT;
                } catch (IllegalArgumentException e) {
                    say(e.getMessage());
                }
                prompt();
            }
            case CODE_APPROVE, CODE_GRANT -> {
                boolean grant = step == Step.CODE_GRANT;
                Message decide = Message.of("decide").with("run_id", r.number("run_id", -1))
                        .with("decision", grant ? "grant" : "approve").with("code", line)
                        .with("request_hash", r.string("request_hash", "")).with("decided_by", name);
                if (grant) {
                    decide.with("grant_seconds", grantLength.toSeconds());
                } else if (narrowed != null) {
                    decide.with("variables", narrowed);
                }
                step = Step.CHOOSE;
                send(decide);
                say(grant ? "granting " + Durations.format(grantLength) + "..."
                        : narrowed != null ? "approving with only " + String.join(", ", narrowed) + "..." : "approving...");
                narrowed = null;
            }
            case DENY_MESSAGE -> {
                step = Step.CHOOSE;
                send(Message.of("decide").with("run_id", r.number("run_id", -1)).with("decision", "deny")
                        .with("message", line.isEmpty() ? "denied by the human" : line).with("decided_by", name));
                say("denying...");
            }
            case VARIABLE_CHOOSE -> {
                switch (line.toLowerCase(java.util.Locale.ROOT)) {
                    case "p", "provide" -> provide(r);
                    case "d", "decline" -> {
                        step = Step.VARIABLE_DECLINE;
                        prompt();
                    }
                    case "s", "skip" -> {
                        queue.add(current);
                        current = null;
                        next();
                    }
                    case "r" -> {
                        details(RequestView.risks(r, width));
                        prompt();
                    }
                    default -> {
                        say("answer p, d, s or r");
                        prompt();
                    }
                }
            }
            case VARIABLE_DECLINE -> {
                step = Step.VARIABLE_CHOOSE;
                send(Message.of("decline_variable").with("request_id", r.number("request_id", -1))
                        .with("message", line.isEmpty() ? "declined by the human" : line));
                say("declining...");
            }
        }
    }

    private void provide(Message r) throws BrokerException {
        char[] value;
        try {
            String prompt = "value for " + ConsoleText.line(r.string("name", ""), 40) + " (not shown): ";
            if (secrets != null) {
                value = secrets.read(prompt);
            } else {
                // plain input (no terminal): the input thread is idle, so this thread may read
                out.print(prompt);
                out.flush();
                String line = in.readLine();
                value = line == null ? null : line.toCharArray();
            }
        } catch (IOException e) {
            say("cannot read the value: " + e.getMessage());
            prompt();
            return;
        }
        if (value == null) {
            say("no value read; nothing sent");
            prompt();
            return;
        }
        java.nio.ByteBuffer bytes = java.nio.charset.StandardCharsets.UTF_8.encode(java.nio.CharBuffer.wrap(value));
        byte[] b = new byte[bytes.remaining()];
        bytes.get(b);
        java.util.Arrays.fill(value, '\0');
        java.util.Arrays.fill(bytes.array(), (byte) 0);
        awaitingReply = true;
        Message msg = Message.of("provide_variable").with("request_id", r.number("request_id", -1));
        // sent as a request + secret frame; the reply arrives through the event loop
        client.sendWithSecret(msg, b);
        say("storing the value...");
    }

    private void send(Message m) throws BrokerException {
        awaitingReply = true;
        client.send(m);
    }

    private void say(String s) {
        out.println(s);
        out.flush();
    }
}

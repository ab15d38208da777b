package dev.brokerctl.daemon;

/** Requester text in a log line: escaped, so nobody who tails the log gets a terminal escape. */
final class Log {

    private Log() {
    }

    static String safe(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT || c == '\\') {
                b.append(c == '\\' ? "\\\\" : String.format("\\u{%04X}", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.toString();
    }
}

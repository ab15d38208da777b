package dev.brokerctl.protocol;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.json.JsonFactory;

/**
 * A control message: one JSON object with a {@code "type"}. Values are strings, numbers
 * (long), booleans, null, lists and nested objects. Messages never carry a secret value:
 * secrets go in {@link Frame#SECRET} frames. Parsed with jackson-core's streaming API only, which
 * keeps databind off the {@code brokerctl run} start-up path.
 */
public final class Message {

    private static final JsonFactory JSON = JsonFactory.builder().build();
    private static final int MAX_DEPTH = 16;

    private final Map<String, Object> fields;

    private Message(Map<String, Object> fields) {
        this.fields = fields;
    }

    public static Message of(String type) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", type);
        return new Message(m);
    }

    /** Adds a field; {@code value} is a String, Number, Boolean, List, Map, Message or null. */
    public Message with(String key, Object value) {
        fields.put(key, value instanceof Message msg ? msg.fields : value);
        return this;
    }

    public String type() {
        Object t = fields.get("type");
        return t instanceof String s ? s : "";
    }

    public boolean has(String key) {
        return fields.containsKey(key) && fields.get(key) != null;
    }

    public String string(String key) throws BrokerException {
        Object v = fields.get(key);
        if (v instanceof String s) {
            return s;
        }
        throw missing(key, "a string");
    }

    public String string(String key, String fallback) throws BrokerException {
        return has(key) ? string(key) : fallback;
    }

    public long number(String key, long fallback) throws BrokerException {
        Object v = fields.get(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Long l) {
            return l;
        }
        throw missing(key, "an integer");
    }

    public boolean bool(String key, boolean fallback) throws BrokerException {
        Object v = fields.get(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        throw missing(key, "true or false");
    }

    /** A list of strings, or null when absent. */
    public List<String> strings(String key) throws BrokerException {
        Object v = fields.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof List<?> list) {
            List<String> out = new ArrayList<>(list.size());
            for (Object o : list) {
                if (!(o instanceof String s)) {
                    throw missing(key, "a list of strings");
                }
                out.add(s);
            }
            return out;
        }
        throw missing(key, "a list of strings");
    }

    /** A JSON object of string values, or null when absent. */
    public Map<String, String> stringMap(String key) throws BrokerException {
        Object v = fields.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Map<?, ?> map) {
            Map<String, String> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (!(e.getValue() instanceof String s)) {
                    throw missing(key, "an object of strings");
                }
                out.put((String) e.getKey(), s);
            }
            return out;
        }
        throw missing(key, "an object of strings");
    }

    /** A nested object, or null when absent. */
    @SuppressWarnings("unchecked")
    public Message message(String key) throws BrokerException {
        Object v = fields.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Map<?, ?> m) {
            return new Message((Map<String, Object>) m);
        }
        throw missing(key, "an object");
    }

    /** A list of nested messages, or an empty list when absent. */
    @SuppressWarnings("unchecked")
    public List<Message> messages(String key) throws BrokerException {
        Object v = fields.get(key);
        if (v == null) {
            return List.of();
        }
        if (v instanceof List<?> list) {
            List<Message> out = new ArrayList<>(list.size());
            for (Object o : list) {
                if (!(o instanceof Map<?, ?> m)) {
                    throw missing(key, "a list of objects");
                }
                out.add(new Message((Map<String, Object>) m));
            }
            return out;
        }
        throw missing(key, "a list of objects");
    }

    public Map<String, Object> asMap() {
        return Collections.unmodifiableMap(fields);
    }

    private BrokerException missing(String key, String what) {
        return new BrokerException(ErrorCode.BAD_REQUEST,
                "'" + type() + "' message: field '" + key + "' must be " + what);
    }

    // ------------------------------------------------------------------ JSON

    public byte[] toJson() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            writeValue(g, fields);
        }
        return out.toByteArray();
    }

    private static void writeValue(JsonGenerator g, Object v) {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof String s) {
            g.writeString(s);
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short) {
            g.writeNumber(((Number) v).longValue());
        } else if (v instanceof Number n) {
            g.writeNumber(n.doubleValue());
        } else if (v instanceof Message m) {
            writeValue(g, m.fields);
        } else if (v instanceof Map<?, ?> map) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                g.writeName(String.valueOf(e.getKey()));
                writeValue(g, e.getValue());
            }
            g.writeEndObject();
        } else if (v instanceof Iterable<?> it) {
            g.writeStartArray();
            for (Object o : it) {
                writeValue(g, o);
            }
            g.writeEndArray();
        } else {
            throw new IllegalArgumentException("cannot write " + v.getClass().getSimpleName() + " as JSON");
        }
    }

    /** Parses one JSON object; anything else is a {@link ErrorCode#BAD_REQUEST}. */
    public static Message parse(byte[] json) throws BrokerException {
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new BrokerException(ErrorCode.BAD_REQUEST, "a message must be a JSON object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> fields = (Map<String, Object>) readValue(p, 0);
            if (p.nextToken() != null) {
                throw new BrokerException(ErrorCode.BAD_REQUEST, "trailing data after the JSON object");
            }
            return new Message(fields);
        } catch (JacksonException e) {
            throw new BrokerException(ErrorCode.BAD_REQUEST, "malformed JSON: " + e.getOriginalMessage());
        }
    }

    private static Object readValue(JsonParser p, int depth) throws BrokerException {
        if (depth > MAX_DEPTH) {
            throw new BrokerException(ErrorCode.BAD_REQUEST, "JSON nested deeper than " + MAX_DEPTH);
        }
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    m.put(name, readValue(p, depth + 1));
                }
                return m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    l.add(readValue(p, depth + 1));
                }
                return l;
            }
            case VALUE_STRING -> {
                return p.getString();
            }
            case VALUE_NUMBER_INT -> {
                return p.getLongValue();
            }
            case VALUE_NUMBER_FLOAT -> {
                double d = p.getDoubleValue();
                if (!Double.isFinite(d)) {   // 1e400: it would be written back as the string "Infinity"
                    throw new BrokerException(ErrorCode.BAD_REQUEST, "a number is out of range");
                }
                return d;
            }
            case VALUE_TRUE -> {
                return Boolean.TRUE;
            }
            case VALUE_FALSE -> {
                return Boolean.FALSE;
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> throw new BrokerException(ErrorCode.BAD_REQUEST, "unexpected JSON token " + t);
        }
    }

    /** Messages carry no secrets, but argv and environments can be long: print type and keys. */
    @Override
    public String toString() {
        return "Message[" + type() + " " + fields.keySet() + "]";
    }
}

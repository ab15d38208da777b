package dev.brokerctl.mcp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * JSON Schemas for the tools, as the plain maps MCP sends, and a validator for the small subset
 * they use. The same map is advertised in {@code tools/list} and checked on {@code tools/call}, so
 * the two cannot drift, and a wrong argument gets a message an agent can act on instead of a
 * schema library's error path.
 */
final class Schema {

    private Schema() {
    }

    // ------------------------------------------------------------------ building

    static Map<String, Object> object(Map<String, Object> properties, String... required) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("type", "object");
        s.put("properties", properties);
        if (required.length > 0) {
            s.put("required", List.of(required));
        }
        s.put("additionalProperties", false);
        return s;
    }

    /** An output object: every property is always present (some may be null). */
    static Map<String, Object> result(Map<String, Object> properties) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("type", "object");
        s.put("properties", properties);
        s.put("required", List.copyOf(properties.keySet()));
        return s;
    }

    static Map<String, Object> props(Object... nameThenSchema) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < nameThenSchema.length; i += 2) {
            m.put((String) nameThenSchema[i], nameThenSchema[i + 1]);
        }
        return m;
    }

    static Map<String, Object> string(String description) {
        return typed("string", description);
    }

    static Map<String, Object> integer(String description) {
        return typed("integer", description);
    }

    static Map<String, Object> bool(String description) {
        return typed("boolean", description);
    }

    static Map<String, Object> nullable(String type, String description) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("type", List.of(type, "null"));
        s.put("description", description);
        return s;
    }

    static Map<String, Object> arrayOf(Map<String, Object> items, String description) {
        Map<String, Object> s = typed("array", description);
        s.put("items", items);
        return s;
    }

    static Map<String, Object> typed(String type, String description) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("type", type);
        s.put("description", description);
        return s;
    }

    /** Adds a keyword ({@code minLength}, {@code maximum}, {@code pattern}, {@code enum}, ...). */
    static Map<String, Object> with(Map<String, Object> schema, String keyword, Object value) {
        schema.put(keyword, value);
        return schema;
    }

    // ------------------------------------------------------------------ validating

    /**
     * Checks {@code arguments} against an object schema built here.
     *
     * @return the problems, each naming the argument and what it must be; empty when valid
     */
    static List<String> validate(Map<String, Object> schema, Map<String, Object> arguments) {
        List<String> problems = new ArrayList<>();
        Map<String, Object> args = arguments == null ? Map.of() : arguments;
        @SuppressWarnings("unchecked")
        Map<String, Object> properties = (Map<String, Object>) schema.getOrDefault("properties", Map.of());
        @SuppressWarnings("unchecked")
        List<String> required = (List<String>) schema.getOrDefault("required", List.of());
        for (String name : required) {
            if (args.get(name) == null) {
                problems.add("argument '" + name + "' is required");
            }
        }
        for (Map.Entry<String, Object> e : args.entrySet()) {
            Object propertySchema = properties.get(e.getKey());
            if (propertySchema == null) {
                problems.add("unknown argument '" + printable(e.getKey()) + "'; the arguments are: "
                        + String.join(", ", properties.keySet()));
                continue;
            }
            if (e.getValue() == null && !required.contains(e.getKey())) {
                continue;   // an explicit null for an optional argument means "not given"
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> ps = (Map<String, Object>) propertySchema;
            check("argument '" + e.getKey() + "'", ps, e.getValue(), problems);
        }
        return problems;
    }

    @SuppressWarnings("unchecked")
    private static void check(String what, Map<String, Object> s, Object value, List<String> problems) {
        Object type = s.get("type");
        List<String> types = type instanceof List<?> l ? (List<String>) l : List.of((String) type);
        String actual = jsonType(value);
        boolean typeOk = types.contains(actual) || (actual.equals("integer") && types.contains("number"));
        if (!typeOk) {
            problems.add(what + " must be " + describe(s) + ", not " + article(actual));
            return;
        }
        if (value instanceof String str) {
            Object min = s.get("minLength");
            if (min instanceof Integer m && str.length() < m) {
                problems.add(what + (m == 1 ? " must not be empty" : " must have at least " + m + " characters"));
            }
            Object max = s.get("maxLength");
            if (max instanceof Integer m && str.length() > m) {
                problems.add(what + " must have at most " + m + " characters");
            }
            Object pattern = s.get("pattern");
            if (pattern instanceof String p && !Pattern.compile(p).matcher(str).find()) {
                problems.add(what + " '" + printable(str) + "' is not valid: " + s.get("description"));
            }
        } else if (value instanceof Number n && actual.equals("integer")) {
            long v = n.longValue();
            Object min = s.get("minimum");
            if (min instanceof Number m && v < m.longValue()) {
                problems.add(what + " must be at least " + m);
            }
            Object max = s.get("maximum");
            if (max instanceof Number m && v > m.longValue()) {
                problems.add(what + " must be at most " + m);
            }
        } else if (value instanceof List<?> list) {
            Object min = s.get("minItems");
            if (min instanceof Integer m && list.size() < m) {
                problems.add(what + (m == 1 ? " must not be empty" : " must have at least " + m + " items"));
            }
            Object max = s.get("maxItems");
            if (max instanceof Integer m && list.size() > m) {
                problems.add(what + " must have at most " + m + " items");
            }
            Object items = s.get("items");
            if (items instanceof Map<?, ?> itemSchema) {
                for (int i = 0; i < list.size(); i++) {
                    check(what + " item " + i, (Map<String, Object>) itemSchema, list.get(i), problems);
                }
            }
        }
    }

    private static String describe(Map<String, Object> s) {
        Object type = s.get("type");
        if ("array".equals(type) && s.get("items") instanceof Map<?, ?> items) {
            return "an array of " + items.get("type") + "s";
        }
        if (type instanceof List<?> l) {
            List<String> words = new ArrayList<>();
            for (Object t : l) {
                words.add(article((String) t));
            }
            return String.join(" or ", words);
        }
        return article((String) type);
    }

    private static String article(String type) {
        return switch (type) {
            case "integer", "array", "object" -> "an " + type;
            case "null" -> "null";
            default -> "a " + type;
        };
    }

    static String jsonType(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof String) {
            return "string";
        }
        if (v instanceof Boolean) {
            return "boolean";
        }
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof java.math.BigInteger) {
            return "integer";
        }
        if (v instanceof Number n) {
            double d = n.doubleValue();
            return d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 9.0e15 ? "integer" : "number";
        }
        if (v instanceof List<?>) {
            return "array";
        }
        if (v instanceof Map<?, ?>) {
            return "object";
        }
        return "value";
    }

    /** Agent input echoed in a message: cut short, no control characters. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 64; i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) ? '?' : c);
        }
        return s.length() > 64 ? b + "..." : b.toString();
    }
}

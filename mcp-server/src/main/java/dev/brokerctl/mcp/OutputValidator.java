package dev.brokerctl.mcp;

import io.modelcontextprotocol.json.schema.JsonSchemaValidator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The SDK's check of every tool result's structured content against the tool's output schema,
 * for the subset of JSON Schema that {@link Schema} builds: {@code type} (one or a list, "null"
 * included), {@code properties}, {@code required}, {@code additionalProperties: false},
 * {@code items} and {@code enum}; a keyword outside that subset fails the check rather than
 * pass unchecked. It replaces the SDK's default validator (networknt json-schema-validator over
 * Jackson's tree model), which loaded ~250 classes at start-up and converted each result to a
 * tree on every call.
 */
final class OutputValidator implements JsonSchemaValidator {

    /** The keywords this class checks, and annotations that say nothing about validity. */
    private static final List<String> KNOWN = List.of("type", "properties", "required", "additionalProperties",
            "items", "enum", "description", "title");

    @Override
    public ValidationResponse validate(Map<String, Object> schema, Object structuredContent) {
        List<String> problems = new ArrayList<>();
        check("structuredContent", schema, structuredContent, problems);
        if (problems.isEmpty()) {
            // the SDK shows this as text only for a result without content; every result here has content
            return ValidationResponse.asValid("");
        }
        return ValidationResponse.asInvalid("the result does not match the tool's output schema: "
                + String.join("; ", problems.subList(0, Math.min(5, problems.size()))));
    }

    @SuppressWarnings("unchecked")
    private static void check(String where, Map<String, Object> schema, Object value, List<String> problems) {
        for (String keyword : schema.keySet()) {
            if (!KNOWN.contains(keyword)) {
                problems.add(where + ": the schema uses '" + keyword + "', which this check does not know");
                return;
            }
        }
        Object type = schema.get("type");
        if (type != null) {
            List<?> types = type instanceof List<?> l ? l : List.of(type);
            String actual = Schema.jsonType(value);
            if (!types.contains(actual) && !(actual.equals("integer") && types.contains("number"))) {
                problems.add(where + " is " + actual + ", not " + types);
                return;
            }
        }
        if (schema.get("enum") instanceof List<?> values && !values.contains(value)) {
            problems.add(where + " is not one of " + values);
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> properties = schema.get("properties") instanceof Map<?, ?> p
                    ? (Map<String, Object>) p : Map.of();
            if (schema.get("required") instanceof List<?> required) {
                for (Object name : required) {
                    if (!map.containsKey(name)) {
                        problems.add(where + "." + name + " is missing");
                    }
                }
            }
            for (Map.Entry<?, ?> e : map.entrySet()) {
                Object propertySchema = properties.get(String.valueOf(e.getKey()));
                if (propertySchema instanceof Map<?, ?> ps) {
                    check(where + "." + e.getKey(), (Map<String, Object>) ps, e.getValue(), problems);
                } else if (Boolean.FALSE.equals(schema.get("additionalProperties"))) {
                    problems.add(where + "." + e.getKey() + " is not in the schema");
                }
            }
        } else if (value instanceof List<?> list && schema.get("items") instanceof Map<?, ?> items) {
            for (int i = 0; i < list.size(); i++) {
                check(where + "[" + i + "]", (Map<String, Object>) items, list.get(i), problems);
            }
        }
    }
}

package dev.brokerctl.mcp;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.modelcontextprotocol.json.schema.JsonSchemaValidator.ValidationResponse;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OutputValidatorTest {

    private final OutputValidator validator = new OutputValidator();

    /** The shape of a run result: enum, nullable, arrays of objects. */
    private static Map<String, Object> schema() {
        Map<String, Object> item = Schema.result(Schema.props("name", Schema.string("a name")));
        return Schema.result(Schema.props(
                "status", Schema.with(Schema.string("the status"), "enum", List.of("completed", "error")),
                "exit_code", Schema.nullable("integer", "the exit code"),
                "items", Schema.arrayOf(item, "the items"),
                "done", Schema.bool("whether done")));
    }

    private static Map<String, Object> valid() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("status", "completed");
        v.put("exit_code", null);
        v.put("items", List.of(Map.of("name", "a")));
        v.put("done", true);
        return v;
    }

    @Test
    void aMatchingResult_isValid() {
        assertTrue(validator.validate(schema(), valid()).valid());
        Map<String, Object> withNumber = valid();
        withNumber.put("exit_code", 137L);
        assertTrue(validator.validate(schema(), withNumber).valid());
    }

    @Test
    void aMissingRequiredProperty_isInvalid_andNamed() {
        Map<String, Object> v = valid();
        v.remove("done");
        ValidationResponse r = validator.validate(schema(), v);
        assertFalse(r.valid());
        assertTrue(r.errorMessage().contains("structuredContent.done is missing"), r.errorMessage());
    }

    @Test
    void aWrongType_aValueOutsideTheEnum_andABadArrayItem_areInvalid() {
        Map<String, Object> wrongType = valid();
        wrongType.put("exit_code", "0");
        assertFalse(validator.validate(schema(), wrongType).valid());

        Map<String, Object> outsideEnum = valid();
        outsideEnum.put("status", "finished");
        ValidationResponse r = validator.validate(schema(), outsideEnum);
        assertFalse(r.valid());
        assertTrue(r.errorMessage().contains("structuredContent.status"), r.errorMessage());

        Map<String, Object> badItem = valid();
        badItem.put("items", List.of(Map.of("name", 3)));
        r = validator.validate(schema(), badItem);
        assertFalse(r.valid());
        assertTrue(r.errorMessage().contains("structuredContent.items[0].name"), r.errorMessage());

        assertFalse(validator.validate(schema(), List.of()).valid(), "not an object");
    }

    @Test
    void additionalPropertiesFalse_isEnforced_andExtraPropertiesPassOtherwise() {
        Map<String, Object> extra = valid();
        extra.put("hint", "x");
        assertTrue(validator.validate(schema(), extra).valid());
        Map<String, Object> closed = schema();
        closed.put("additionalProperties", false);
        assertFalse(validator.validate(closed, extra).valid());
    }

    @Test
    void aKeywordThisCheckDoesNotKnow_failsRatherThanPassUnchecked() {
        Map<String, Object> s = new HashMap<>(schema());
        s.put("minProperties", 1);
        ValidationResponse r = validator.validate(s, valid());
        assertFalse(r.valid());
        assertTrue(r.errorMessage().contains("minProperties"), r.errorMessage());
    }
}

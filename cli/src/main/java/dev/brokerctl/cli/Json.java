package dev.brokerctl.cli;

import dev.brokerctl.vault.EnvironmentInfo;
import dev.brokerctl.vault.Listing;
import dev.brokerctl.vault.VariableInfo;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.json.JsonFactory;

/** JSON output of the listing commands, written with jackson-core's streaming generator. */
final class Json {

    private static final JsonFactory FACTORY = JsonFactory.builder().build();

    private Json() {
    }

    /** {@code {"environments":[{"name","policy","variable_count"}],"damaged":[...]}} */
    static void environments(PrintWriter out, Listing<EnvironmentInfo> listing) {
        try (JsonGenerator g = FACTORY.createGenerator(new NonClosing(out))) {
            g.writeStartObject();
            g.writeArrayPropertyStart("environments");
            for (EnvironmentInfo e : listing.items()) {
                g.writeStartObject();
                g.writeStringProperty("name", e.name());
                g.writeStringProperty("policy", e.policy().id());
                g.writeNumberProperty("variable_count", e.variableCount());
                g.writeEndObject();
            }
            g.writeEndArray();
            damaged(g, listing.damaged());
            g.writeEndObject();
        }
        out.println();
        out.flush();
    }

    /**
     * {@code {"grants":[{"grant_id","environment","argv","cwd","variables","granted_by","expires_at"}]}};
     * {@code variables} is null when the grant covers all of the environment's.
     */
    static void grants(PrintWriter out, List<dev.brokerctl.protocol.Message> grants)
            throws dev.brokerctl.protocol.BrokerException {
        try (JsonGenerator g = FACTORY.createGenerator(new NonClosing(out))) {
            g.writeStartObject();
            g.writeArrayPropertyStart("grants");
            for (dev.brokerctl.protocol.Message m : grants) {
                g.writeStartObject();
                g.writeNumberProperty("grant_id", m.number("grant_id", -1));
                g.writeStringProperty("environment", m.string("environment", ""));
                g.writeArrayPropertyStart("argv");
                for (String a : m.strings("argv")) {
                    g.writeString(a);
                }
                g.writeEndArray();
                g.writeStringProperty("cwd", m.string("cwd", ""));
                List<String> variables = m.strings("variables");
                if (variables == null) {
                    g.writeNullProperty("variables");
                } else {
                    g.writeArrayPropertyStart("variables");
                    for (String v : variables) {
                        g.writeString(v);
                    }
                    g.writeEndArray();
                }
                g.writeStringProperty("granted_by", m.string("granted_by", ""));
                g.writeStringProperty("expires_at", m.string("expires_at", ""));
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        out.println();
        out.flush();
    }

    /**
     * {@code {"environments":[{"name","policy","variables":[{"name","description","updated_at"}]}],
     * "damaged":[...]}}
     */
    static void variables(PrintWriter out, Map<EnvironmentInfo, Listing<VariableInfo>> byEnvironment,
            List<String> damaged) {
        try (JsonGenerator g = FACTORY.createGenerator(new NonClosing(out))) {
            g.writeStartObject();
            g.writeArrayPropertyStart("environments");
            for (Map.Entry<EnvironmentInfo, Listing<VariableInfo>> e : byEnvironment.entrySet()) {
                g.writeStartObject();
                g.writeStringProperty("name", e.getKey().name());
                g.writeStringProperty("policy", e.getKey().policy().id());
                g.writeArrayPropertyStart("variables");
                for (VariableInfo v : e.getValue().items()) {
                    g.writeStartObject();
                    g.writeStringProperty("name", v.name());
                    g.writeStringProperty("description", v.description());
                    g.writeStringProperty("updated_at", v.updatedAt().toString());
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            damaged(g, damaged);
            g.writeEndObject();
        }
        out.println();
        out.flush();
    }

    /** {@code {"findings":[{"id","status","text","fix"}],"needs_fixing":N}}: brokerctl doctor. */
    static void findings(PrintWriter out, List<dev.brokerctl.containment.Finding> findings, long needsFixing) {
        try (JsonGenerator g = FACTORY.createGenerator(new NonClosing(out))) {
            g.writeStartObject();
            g.writeArrayPropertyStart("findings");
            for (dev.brokerctl.containment.Finding f : findings) {
                g.writeStartObject();
                g.writeStringProperty("id", f.id());
                g.writeStringProperty("status", f.status().id());
                g.writeStringProperty("text", f.text());
                g.writeStringProperty("fix", f.fix());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeNumberProperty("needs_fixing", needsFixing);
            g.writeEndObject();
        }
        out.println();
        out.flush();
    }

    private static void damaged(JsonGenerator g, List<String> damaged) {
        g.writeArrayPropertyStart("damaged");
        for (String d : damaged) {
            g.writeString(d);
        }
        g.writeEndArray();
    }

    /** The generator closes its target; stdout must stay open. */
    private static final class NonClosing extends java.io.FilterWriter {
        NonClosing(java.io.Writer w) {
            super(w);
        }

        @Override
        public void close() {
            // leave the PrintWriter open
        }
    }
}

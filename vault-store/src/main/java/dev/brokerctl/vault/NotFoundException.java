package dev.brokerctl.vault;

/** A vault, environment or variable that the caller named does not exist. */
public final class NotFoundException extends VaultException {

    public NotFoundException(String message) {
        super(message);
    }

    static NotFoundException environment(String env) {
        return new NotFoundException("environment '" + env
                + "' does not exist; create it with: brokerctl env create " + env);
    }

    static NotFoundException variable(String env, String name) {
        return new NotFoundException("variable " + name + " does not exist in environment '" + env
                + "'; set it with: brokerctl set " + env + " " + name);
    }

    static NotFoundException variables(String env, java.util.List<String> names) {
        return new NotFoundException("variables " + String.join(", ", names) + " do not exist in environment '"
                + env + "'; set each with: brokerctl set " + env + " NAME");
    }
}

# Sourced by the run benchmarks: the bare JVM they compare `brokerctl run` with, a class that
# spawns `true` with ProcessBuilder. bare_jvm DIR compiles it into DIR; run it with
# "$java" -cp DIR Bare (plus the launcher's flags).
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
bare_jvm() {
    mkdir -p "$1"
    cat > "$1/Bare.java" <<'JAVA'
public class Bare {
    public static void main(String[] a) throws Exception {
        System.exit(new ProcessBuilder("true").inheritIO().start().waitFor());
    }
}
JAVA
    "${JAVA_HOME:+$JAVA_HOME/bin/}javac" -d "$1" "$1/Bare.java"
}

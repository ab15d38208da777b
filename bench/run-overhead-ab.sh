#!/usr/bin/env bash
# Two builds of brokerctl side by side, each against a FRESH daemon every round: `rounds` rounds
# of `runs` runs, interleaved (this tree's run, the other tree's run, a bare JVM spawning `true`),
# so machine noise hits all alike. Prints medians over all runs and over the first run of each
# round, with the ratio to the bare JVM. Each daemon is started with `daemon --detach` right
# before its round, and measured at once: its first run is a fresh daemon's first run.
# Usage: [AUDIT_ENTRIES=N] [OTHER_DAEMON_OPTS=..] [THIS_DAEMON_OPTS=..] bench/run-overhead-ab.sh OTHER_TREE [rounds] [runs]
#   OTHER_TREE: another checkout with its jars built (mvn -q -DskipTests package), e.g. of the base commit;
#     this tree itself (.) to compare daemon JVM flags alone
#   AUDIT_ENTRIES: fill both vaults' audit logs with N entries first (a vault in long use)
#   OTHER_DAEMON_OPTS, THIS_DAEMON_OPTS: BROKERCTL_JAVA_OPTS for each `daemon --detach` only (the
#     clients never get them), e.g. THIS_DAEMON_OPTS=-XX:TieredStopAtLevel=1
set -euo pipefail
other=$(cd "$1" && pwd)
rounds=${2:-5}
runs=${3:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
new=$root/bin/brokerctl
base=$other/bin/brokerctl
work=$(mktemp -d)
chmod 700 "$work"
unset BROKERCTL_SOCKET XDG_RUNTIME_DIR BROKERCTL_JAVA_OPTS
export BROKERCTL_PASSPHRASE_FILE=$work/pass
printf '%s\n' 'bench passphrase, not a secret' > "$BROKERCTL_PASSPHRASE_FILE"
cleanup() {
    BROKERCTL_HOME=$work/home-base "$base" stop >/dev/null 2>&1 || true
    BROKERCTL_HOME=$work/home-new "$new" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/bare-jvm.sh"
bare_jvm "$work/bare"
# fill_audit JAR VAULT N: appends N run_exited entries, 1,000 to a transaction, through the vault API
fill_audit() {
    mkdir -p "$work/fill"
    cat > "$work/fill/Fill.java" <<'JAVA'
import dev.brokerctl.vault.Vault;
import dev.brokerctl.vault.VaultSession;
import dev.brokerctl.vault.audit.AuditDetails;
import dev.brokerctl.vault.audit.AuditEvent;
import dev.brokerctl.vault.audit.AuditRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
public class Fill {
    public static void main(String[] a) throws Exception {
        char[] pass = Files.readString(Path.of(a[1])).strip().toCharArray();
        int n = Integer.parseInt(a[2]);
        try (VaultSession s = Vault.open(Path.of(a[0])).unlock(pass)) {
            for (int done = 0; done < n; ) {
                List<AuditRecord> batch = new ArrayList<>();
                for (int i = 0; i < 1000 && done < n; i++, done++) {
                    batch.add(new AuditRecord(AuditEvent.RUN_EXITED, "bench", AuditDetails.of("run_id", "fill-" + done,
                            "exit_code", 0, "duration_ms", 12, "masked_count", 0)));
                }
                s.audit(batch);
            }
        }
    }
}
JAVA
    "${JAVA_HOME:+$JAVA_HOME/bin/}javac" -cp "$1" -d "$work/fill" "$work/fill/Fill.java"
    "$java" -cp "$work/fill:$1" Fill "$2" "$BROKERCTL_PASSPHRASE_FILE" "$3"
}
for v in base new; do
    b=$base; [ "$v" = new ] && b=$new
    BROKERCTL_HOME=$work/home-$v "$b" init --kdf-memory-mib 19 >/dev/null 2>&1
    BROKERCTL_HOME=$work/home-$v "$b" env create bench --policy auto >/dev/null
    printf %s 'bench-token-value-0123456789' | BROKERCTL_HOME=$work/home-$v "$b" set bench TOKEN >/dev/null
    if [ "${AUDIT_ENTRIES:-0}" -gt 0 ]; then
        fill_audit "${b%/bin/brokerctl}/cli/target/brokerctl.jar" "$work/home-$v/vault.db" "$AUDIT_ENTRIES"
    fi
done
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
for f in jvm base new jvm.1 base.1 new.1; do : > "$work/$f"; done
for _ in $(seq "$rounds"); do
    BROKERCTL_HOME=$work/home-base BROKERCTL_JAVA_OPTS=${OTHER_DAEMON_OPTS:-} "$base" daemon --detach >/dev/null
    BROKERCTL_HOME=$work/home-new BROKERCTL_JAVA_OPTS=${THIS_DAEMON_OPTS:-} "$new" daemon --detach >/dev/null
    for i in $(seq "$runs"); do
        n=$(BROKERCTL_HOME=$work/home-new ms "$new" run --env bench -- true)
        b=$(BROKERCTL_HOME=$work/home-base ms "$base" run --env bench -- true)
        j=$(ms "$java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xshare:auto -cp "$work/bare" Bare)
        echo "$n" >> "$work/new"; echo "$b" >> "$work/base"; echo "$j" >> "$work/jvm"
        if [ "$i" = 1 ]; then echo "$n" >> "$work/new.1"; echo "$b" >> "$work/base.1"; echo "$j" >> "$work/jvm.1"; fi
    done
    BROKERCTL_HOME=$work/home-base "$base" stop >/dev/null
    BROKERCTL_HOME=$work/home-new "$new" stop >/dev/null
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
report() {
    local j b n
    j=$(median "$work/jvm$1"); b=$(median "$work/base$1"); n=$(median "$work/new$1")
    awk -v j="$j" -v b="$b" -v n="$n" -v what="$2" 'BEGIN { printf "%-32s bare JVM %7.1f ms | other %7.1f ms (%.2f) | this %7.1f ms (%.2f)\n", what, j / 1000, b / 1000, b / j, n / 1000, n / j }'
}
printf '%d rounds x %d runs, a fresh daemon each round, %d audit entries first; load average %s\n' "$rounds" "$runs" \
    "${AUDIT_ENTRIES:-0}" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'daemon flags: other [%s], this [%s]\n' "${OTHER_DAEMON_OPTS:-}" "${THIS_DAEMON_OPTS:-}"
report "" "all runs, medians"
report .1 "first run of each round, medians"

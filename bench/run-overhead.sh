#!/usr/bin/env bash
# `brokerctl run --env bench -- true` beside `/bin/true` and a bare JVM that spawns `true`, in one
# run, alternating so that machine noise hits all three alike. Prints medians and the ratio.
# The daemon is long-running: before measuring, `warm` runs (default 300) let its JIT compile the
# run path, as it has after a few hundred runs in real use. `warm` = 0 measures a fresh daemon from
# its very first run (started right after `daemon --detach` returned, while its own warm-up of the
# run path may still be going on); 1 from its second.
# Usage: bench/run-overhead.sh [runs] [warm]   (needs the jars: mvn -q -DskipTests package)
set -euo pipefail
runs=${1:-30}
warm=${2:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin/brokerctl
work=$(mktemp -d)
chmod 700 "$work"
export BROKERCTL_HOME=$work/home
export BROKERCTL_PASSPHRASE_FILE=$work/pass
unset BROKERCTL_SOCKET XDG_RUNTIME_DIR
printf '%s\n' 'bench passphrase, not a secret' > "$BROKERCTL_PASSPHRASE_FILE"
cleanup() { "$bin" stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

. "$(dirname "$0")/bare-jvm.sh"
bare_jvm "$work/bare"

"$bin" init --kdf-memory-mib 19 >/dev/null 2>&1
"$bin" env create bench --policy auto >/dev/null
printf %s 'bench-token-value-0123456789' | "$bin" set bench TOKEN >/dev/null
"$bin" daemon --detach >/dev/null
for _ in $(seq "$warm"); do "$bin" run --env bench -- true; done

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
: > "$work/true"; : > "$work/jvm"; : > "$work/run"
for _ in $(seq "$runs"); do
    ms /bin/true >> "$work/true"
    ms "$java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xshare:auto -cp "$work/bare" Bare >> "$work/jvm"
    ms "$bin" run --env bench -- true >> "$work/run"
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t=$(median "$work/true"); j=$(median "$work/jvm"); r=$(median "$work/run")
printf 'median of %d runs (microseconds), daemon warmed by %d runs; load average %s\n' "$runs" "$warm" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  /bin/true                          %8d\n' "$t"
printf '  bare JVM spawning true             %8d\n' "$j"
printf '  brokerctl run --env bench -- true  %8d\n' "$r"
awk -v r="$r" -v j="$j" 'BEGIN { printf "  ratio run / bare JVM               %8.2f\n", r / j }'

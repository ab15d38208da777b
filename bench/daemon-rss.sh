#!/usr/bin/env bash
# The daemon's memory budget, moved out of DaemonIT (a budget is a benchmark, not a unit test):
# a detached daemon with a 96 MiB heap streams 1 GiB of `head -c ... /dev/zero` to a run client;
# its peak resident set (VmHWM) must stay under 384 MiB: heap plus the JVM's own memory
# (metaspace, code cache, GC tables, thread stacks, the native SQLite and JNA libraries), far
# below the 1 GiB a daemon would need that held the output (off-heap, where the heap cap would
# not stop it). Prints the figure; exits 1 over budget.
# Usage: bench/daemon-rss.sh [budget-MiB]   (needs the jars: mvn -q -DskipTests package)
set -euo pipefail
budget_mib=${1:-384}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin/brokerctl
work=$(mktemp -d)
chmod 700 "$work"
export BROKERCTL_HOME=$work/home
export BROKERCTL_PASSPHRASE_FILE=$work/pass
unset BROKERCTL_SOCKET XDG_RUNTIME_DIR BROKERCTL_JAVA_OPTS
printf '%s\n' 'bench passphrase, not a secret' > "$BROKERCTL_PASSPHRASE_FILE"
cleanup() { "$bin" stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

"$bin" init --kdf-memory-mib 19 >/dev/null 2>&1
"$bin" env create bench --policy auto >/dev/null
printf %s 'bench-token-value-0123456789' | "$bin" set bench TOKEN >/dev/null
BROKERCTL_JAVA_OPTS=-Xmx96m "$bin" daemon --detach >/dev/null
pid=$("$bin" status --json | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
bytes=$("$bin" run --env bench -- head -c $((1 << 30)) /dev/zero | wc -c)
[ "$bytes" -eq $((1 << 30)) ] || { echo "streamed $bytes bytes, not 1 GiB" >&2; exit 1; }
hwm_kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
echo "daemon peak RSS after 1 GiB of output: $((hwm_kb / 1024)) MiB (budget $budget_mib MiB, heap -Xmx96m)"
[ "$hwm_kb" -lt $((budget_mib * 1024)) ] || { echo "over budget" >&2; exit 1; }

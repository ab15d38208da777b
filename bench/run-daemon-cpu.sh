#!/usr/bin/env bash
# The daemon's CPU time per run (all its threads' run time from /proc/PID/task/*/schedstat, in
# microseconds; the commands it spawns are not counted) over runs 1..N of a freshly started
# daemon, for two builds, `rounds` rounds each. The daemon is left 2 s after start before its
# first run, so that a warm-up at start is finished and not counted: this shows what the first
# runs still cost, not their latency (bench/run-overhead-ab.sh measures that).
# Usage: bench/run-daemon-cpu.sh OTHER_TREE [rounds] [runs]
set -euo pipefail
other=$(cd "$1" && pwd)
R=${2:-3}; N=${3:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d); chmod 700 "$work"
unset BROKERCTL_SOCKET XDG_RUNTIME_DIR BROKERCTL_JAVA_OPTS
export BROKERCTL_PASSPHRASE_FILE=$work/pass
printf '%s\n' 'bench passphrase, not a secret' > "$BROKERCTL_PASSPHRASE_FILE"
declare -A BIN=([other]=$other/bin/brokerctl [this]=$root/bin/brokerctl)
for v in other this; do
  BROKERCTL_HOME=$work/home-$v ${BIN[$v]} init --kdf-memory-mib 19 >/dev/null 2>&1
  BROKERCTL_HOME=$work/home-$v ${BIN[$v]} env create bench --policy auto >/dev/null
  printf %s 'bench-token-value-0123456789' | BROKERCTL_HOME=$work/home-$v ${BIN[$v]} set bench TOKEN >/dev/null
done
cpu() { cat /proc/$1/task/*/schedstat 2>/dev/null | awk '{s+=$1} END {printf "%d", s/1000}'; }
for r in $(seq $R); do for v in other this; do
  export BROKERCTL_HOME=$work/home-$v
  pid=$(${BIN[$v]} daemon --detach | awk '{print $3}')
  sleep 2
  line="$v round $r: daemon CPU us per run:"
  for i in $(seq $N); do c0=$(cpu $pid); ${BIN[$v]} run --env bench -- true; c1=$(cpu $pid); line="$line $((c1-c0))"; done
  echo "$line"
  ${BIN[$v]} stop >/dev/null
done; done
rm -rf "$work"

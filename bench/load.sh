#!/usr/bin/env bash
# Issue 13's load and fault figures (docs/benchmarks.md, "Load and faults"); the CI-sized checks
# are ConnectionFloodIT and LoadAndFaultsIT. In one fresh home with a detached daemon:
#  1. load: CLIENTS clients at once (3/4 `brokerctl run` loops, 1/4 `brokerctl mcp` sessions over
#     stdio, JSON-RPC lines), RUNS runs each, every output checked masked: runs per second, and
#     the daemon's RSS and threads before, during and after;
#  2. the same load with the daemon SIGKILLed in the middle: SQLite integrity_check and the value
#     intact after, a new daemon serves;
#  3. 200 idle and 20 slowloris connections held while 20 runs go one after another: their median
#     beside 20 without the flood;
#  4. 100 wrong passphrases (`brokerctl unlock`): each a clear error, the time of each, the
#     daemon's open descriptors before and after, the right one still unlocks;
#  5. faulty children: one that ignores SIGTERM (killed at --timeout), one that double-forks
#     (nothing left after), one that writes 1 GiB without a newline (all of it arrives, RSS).
# Usage: bench/load.sh [clients] [runs-per-client]   (needs the jars: mvn -q -DskipTests package)
set -euo pipefail
clients=${1:-32}
runs=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin/brokerctl
flood=$root/cli/src/test/resources/dev/brokerctl/cli/flood.py
work=$(mktemp -d)
chmod 700 "$work"
export BROKERCTL_HOME=$work/home
export BROKERCTL_PASSPHRASE_FILE=$work/pass
unset BROKERCTL_SOCKET XDG_RUNTIME_DIR BROKERCTL_JAVA_OPTS
value='bench-token-value-0123456789abcdef'
printf '%s\n' 'bench passphrase, not a secret' > "$BROKERCTL_PASSPHRASE_FILE"
socket=$BROKERCTL_HOME/run/brokerd.sock
cleanup() { "$bin" stop >/dev/null 2>&1 || true; jobs -p | xargs -r kill 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$bin" init --kdf-memory-mib 19 >/dev/null 2>&1
"$bin" env create bench --policy auto >/dev/null
printf %s "$value" | "$bin" set bench TOKEN >/dev/null
"$bin" daemon --detach >/dev/null
pid() { "$bin" status --json | sed -n 's/.*"pid":\([0-9]*\).*/\1/p'; }
daemon=$(pid)
now() { date +%s%N; }
mem() { awk '/^VmRSS/ {rss=$2} /^Threads/ {t=$2} END {printf "RSS %d MiB, %d threads", rss/1024, t}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }

cat > "$work/mcp.py" <<'PY'
import json, subprocess, sys
bin, runs, cwd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import os
env = dict(os.environ); env.pop('BROKERCTL_PASSPHRASE_FILE', None)   # brokerctl mcp refuses to start with it
p = subprocess.Popen([bin, 'mcp'], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd)
def send(m):
    p.stdin.write((json.dumps(m) + '\n').encode()); p.stdin.flush()
def reply(i):
    for line in p.stdout:
        m = json.loads(line)
        if m.get('id') == i:
            return m
    sys.exit('mcp ended early')
send({'jsonrpc': '2.0', 'id': 0, 'method': 'initialize', 'params': {'protocolVersion': '2025-06-18',
      'capabilities': {}, 'clientInfo': {'name': 'bench', 'version': '1'}}})
reply(0)
send({'jsonrpc': '2.0', 'method': 'notifications/initialized'})
for i in range(1, runs + 1):
    send({'jsonrpc': '2.0', 'id': i, 'method': 'tools/call', 'params': {'name': 'run_command', 'arguments': {
        'environment': 'bench', 'command': ['sh', '-c', 'printf %s "$TOKEN"'], 'variables': ['TOKEN'],
        'reason': 'bench', 'cwd': cwd}}})
    r = json.dumps(reply(i))
    if '[MASKED:TOKEN]' not in r or r.count('"isError": true'):
        sys.exit('an MCP run failed or was not masked')
    print('ok', flush=True)
p.stdin.close(); p.wait()
PY

# one client: RUNS runs, one "ok" line per masked run
client() {
    local n=$1
    if [ $((n % 4)) -eq 3 ]; then
        python3 "$work/mcp.py" "$bin" "$runs" "$work"
    else
        for _ in $(seq "$runs"); do
            out=$("$bin" run --env bench -- sh -c 'printf %s "$TOKEN"') || { echo "run failed: $out"; continue; }
            [ "$out" = "[MASKED:TOKEN]" ] && echo ok || echo "NOT MASKED"
        done
    fi
}
sample() {   # sample PID FILE: the highest RSS and thread count every 0.2 s until FILE.stop exists
    local rss=0 thr=0 r t
    while [ ! -e "$2.stop" ]; do
        read -r r t < <(awk '/^VmRSS/ {r=$2} /^Threads/ {t=$2} END {print r+0, t+0}' "/proc/$1/status" 2>/dev/null || echo "0 0")
        [ "$r" -gt "$rss" ] && rss=$r
        [ "$t" -gt "$thr" ] && thr=$t
        sleep 0.2
    done
    echo "peak RSS $((rss / 1024)) MiB, peak $thr threads" > "$2"
}
load() {   # load LABEL: CLIENTS clients at once, prints runs/s
    local label=$1 t0 t1 ok pids=()
    : > "$work/load.out"
    rm -f "$work/peak" "$work/peak.stop"
    sample "$daemon" "$work/peak" &
    local sampler=$!
    t0=$(now)
    for n in $(seq 0 $((clients - 1))); do client "$n" >> "$work/load.out" 2>&1 & pids+=($!); done
    wait "${pids[@]}"
    t1=$(now)
    touch "$work/peak.stop"; wait "$sampler"
    echo "  during: $(cat "$work/peak")"
    ok=$(grep -c '^ok$' "$work/load.out" || true)
    echo "  $label: $ok of $((clients * runs)) runs ok and masked in $(( (t1 - t0) / 1000000 )) ms:" \
        "$(awk -v n="$ok" -v ns=$((t1 - t0)) 'BEGIN {printf "%.1f", n / (ns / 1e9)}') runs/s"
    grep -v '^ok$' "$work/load.out" | sort | uniq -c | head -5 || true
}

echo "1. load: $clients clients ($((clients * 3 / 4)) CLI, $((clients / 4)) MCP), $runs runs each"
echo "  before: $(mem "$daemon")"
load warm-up >/dev/null
echo "  after a warm-up round: $(mem "$daemon")"
load measured
echo "  after: $(mem "$daemon")"

echo "2. SIGKILL of the daemon under the same load"
: > "$work/load.out"
pids=()
for n in $(seq 0 $((clients - 1))); do client "$n" >> "$work/load.out" 2>&1 & pids+=($!); done
until [ "$(grep -c '^ok$' "$work/load.out" || true)" -ge "$clients" ]; do sleep 0.1; done   # mid-load
kill -9 "$daemon"
wait "${pids[@]}" || true
echo "  runs that finished before the kill: $(grep -c '^ok$' "$work/load.out" || true); not masked: $(grep -c 'NOT MASKED' "$work/load.out" || true)"
echo "  integrity_check: $(sqlite3 "file:$BROKERCTL_HOME/vault.db?mode=ro" 'PRAGMA integrity_check')"
"$bin" daemon --detach >/dev/null
daemon=$(pid)
want=$(printf %s "$value" | sha256sum | cut -d' ' -f1)
got=$("$bin" run --env bench -- sh -c 'printf %s "$TOKEN" | sha256sum' | cut -d' ' -f1)
[ "$got" = "$want" ] && echo "  the value is intact (its sha256 from a run), a new daemon serves" || echo "  THE VALUE CHANGED"

echo "3. 20 runs one after another: without a flood; with 200 idle connections and 20 slowloris ones;"
echo "   with both floods reconnecting each connection the daemon closes at once (sustained)"
median_run() {
    local t0 t1
    for _ in $(seq 20); do
        t0=$(now); "$bin" run --env bench -- true; t1=$(now); echo $(( (t1 - t0) / 1000000 ))
    done | sort -n | sed -n 10p
}
echo "  no flood: median $(median_run) ms; $(mem "$daemon")"
start_flood() {   # start_flood NAME MODE COUNT: runs until its fifo closes, its tally in NAME.out
    mkfifo "$work/$1.in"
    python3 "$flood" "$socket" "$2" "$3" < "$work/$1.in" > "$work/$1.out" &
    eval "exec {$1_fd}>\"$work/$1.in\""
    until grep -q ready "$work/$1.out"; do sleep 0.1; done
}
flooded() {   # flooded IDLE-MODE: 20 runs with 200 IDLE-MODE and 20 slowloris connections
    start_flood "$1" "$1" 200
    start_flood "slow$1" slow 20
    echo "  $1 flood: median $(median_run) ms; $(mem "$daemon");" \
        "status $("$bin" status --json | sed -n 's/.*"connections":\({[^}]*}\).*/\1/p')"
    eval "exec {$1_fd}>&- {slow$1_fd}>&-"
    wait
    echo "    idle: $(tail -1 "$work/$1.out")"
    echo "    slowloris: $(tail -1 "$work/slow$1.out")"
}
flooded held
flooded idle
sleep 6; echo "  6 s after the flood: $(mem "$daemon")"

echo "4. 100 wrong passphrases"
"$bin" lock >/dev/null
before=$(fds "$daemon")
printf '%s\n' 'not the passphrase' > "$work/wrong"
first="" last="" msgs=$work/wrong.msgs
: > "$msgs"
for i in $(seq 100); do
    t0=$(now)
    BROKERCTL_PASSPHRASE_FILE=$work/wrong "$bin" unlock >/dev/null 2>>"$msgs" && echo "  UNLOCKED with a wrong passphrase"
    t1=$(now); ms=$(( (t1 - t0) / 1000000 ))
    [ "$i" -eq 1 ] && first=$ms
    last=$ms
done
echo "  messages: $(sort "$msgs" | uniq -c | tr -s ' ')"
echo "  try 1: $first ms, try 100: $last ms; daemon descriptors $before before, $(fds "$daemon") after"
"$bin" unlock >/dev/null && echo "  the right passphrase unlocks"

echo "5. faulty children"
t0=$(now)
set +e
"$bin" run --env bench --timeout 2s -- sh -c "trap '' TERM; exec sleep 300.71"; rc=$?
set -e
echo "  SIGTERM ignored: exit $rc after $(( ($(now) - t0) / 1000000 )) ms; left: $(pgrep -fc 'sleep 300.71' || true)"
"$bin" run --env bench -- sh -c '(sleep 300.72 &); echo forked' >/dev/null
sleep 1; echo "  double fork: left after the run: $(pgrep -fc 'sleep 300.72' || true)"
t0=$(now)
bytes=$("$bin" run --env bench -- sh -c 'head -c 1073741824 /dev/zero | tr "\0" a' | wc -c)
echo "  1 GiB without a newline: $bytes bytes in $(( ($(now) - t0) / 1000000 )) ms; daemon peak" \
    "$(awk '/^VmHWM/ {printf "%d MiB", $2/1024}' "/proc/$daemon/status"), now $(mem "$daemon")"

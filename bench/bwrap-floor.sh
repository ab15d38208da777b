#!/usr/bin/env bash
# What bubblewrap alone costs a spawn, with no JVM and no broker: the floor under a contained run.
# Alternates, `rounds` times, `n` back-to-back spawns of each variant from this shell (fork + exec,
# wait), from a plain `true` up to the daemon's own command line for a run (setsid, bwrap with a
# PID namespace, /dev, /proc, --chdir); prints each variant's median over the rounds of its mean
# per spawn. Run it as the user the daemon runs as: as root, bwrap makes no user namespace.
# Usage: bench/bwrap-floor.sh [rounds] [n]
set -euo pipefail
rounds=${1:-10}
n=${2:-50}
bwrap=$(command -v bwrap) || { echo "bwrap-floor: no bwrap on PATH" >&2; exit 2; }
true=$(type -P true)   # the program, not the builtin
base=(--unshare-pid --die-with-parent --bind / /)
variants=(
    "$true"
    "$bwrap --bind / / -- $true"
    "$bwrap ${base[*]} -- $true"
    "$bwrap ${base[*]} --dev /dev --proc /proc --chdir /tmp -- $true"
    "setsid $true"
    "setsid $bwrap ${base[*]} --dev /dev --proc /proc --chdir /tmp -- $true"
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for _ in $(seq "$rounds"); do
    for i in "${!variants[@]}"; do
        read -r -a cmd <<< "${variants[$i]}"
        t0=$(date +%s%N)
        for _ in $(seq "$n"); do "${cmd[@]}" >/dev/null; done
        t1=$(date +%s%N)
        echo $(( (t1 - t0) / n / 1000 )) >> "$work/$i"
    done
done
printf '%d rounds x %d spawns as uid %d; load average %s; median of the rounds, microseconds per spawn\n' \
    "$rounds" "$n" "$(id -u)" "$(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!variants[@]}"; do
    printf '%8d  %s\n' "$(sort -n "$work/$i" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" "${variants[$i]}"
done

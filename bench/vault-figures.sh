#!/usr/bin/env bash
# Figures for docs/benchmarks.md, "Vault": unlock cost at the default KDF, `brokerctl list` on a
# vault of 10,000 variables in 10 environments, and that vault's size on disk.
# Usage: bench/vault-figures.sh [runs]   (needs the jar: mvn -q -DskipTests package)
set -euo pipefail
runs=${1:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin/brokerctl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%s\n' 'bench passphrase, not a secret' > "$work/pass"
export BROKERCTL_PASSPHRASE_FILE=$work/pass

median_ms() { # command... ; prints the median wall time in ms over $runs runs
    local times=()
    for _ in $(seq "$runs"); do
        local t0 t1
        t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
        times+=($(( (t1 - t0) / 1000000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

for kdf in 64 19; do
    export BROKERCTL_HOME=$work/home-$kdf
    "$bin" init --kdf-memory-mib "$kdf" >/dev/null 2>&1
    "$bin" env create e0 >/dev/null
    echo "env list, empty vault, Argon2id m=${kdf} MiB t=3 p=1: $(median_ms "$bin" env list) ms median of $runs"
done

export BROKERCTL_HOME=$work/home-64
for e in $(seq 0 9); do
    [ "$e" = 0 ] || "$bin" env create "e$e" >/dev/null
    awk -v e="$e" 'BEGIN { for (i = 0; i < 1000; i++) printf "VAR_%04d=value-%s-%04d-%s\n", i, e, i, "abcdefghijklmnopqrstuvwxyz0123456789" }' > "$work/e$e.env"
    "$bin" import "e$e" "$work/e$e.env" >/dev/null
done
echo "list, 10,000 variables in 10 environments, m=64 MiB: $(median_ms "$bin" list) ms median of $runs"
echo "list --json, same vault: $(median_ms "$bin" list --json) ms median of $runs"
lines=$("$bin" list | grep -c '^  VAR_')
echo "variables listed: $lines"
ls -l "$BROKERCTL_HOME"/vault.db* | awk '{print "file " $NF ": " $5 " bytes"}'

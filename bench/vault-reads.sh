#!/usr/bin/env bash
# In-process timing of the vault's read paths (VaultReadBench, in vault-store's test classes):
# list of 10,000 variables and a run's resolve, first use and warmed, and the first read after
# another connection wrote. Usage: bench/vault-reads.sh [rounds]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mvn -B -ntp -q -o test-compile -pl vault-store -Dpit.skip=true
cpfile=$(mktemp)
trap 'rm -f "$cpfile"' EXIT
mvn -B -ntp -q -o dependency:build-classpath -pl vault-store -Dmdep.outputFile="$cpfile" -Dmdep.includeScope=test >/dev/null
cp=$(cat "$cpfile")
java -cp "vault-store/target/test-classes:vault-store/target/classes:$cp" dev.brokerctl.vault.VaultReadBench "${1:-200}"

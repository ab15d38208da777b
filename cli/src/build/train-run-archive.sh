#!/usr/bin/env bash
# AppCDS archive for brokerctl-run.jar: one real `brokerctl run` against a real daemon, in a
# throwaway home, with the launcher's JVM flags for `run`. Run by the build (package phase).
# Usage: train-run-archive.sh JAVA TARGET_DIR
set -euo pipefail
java=$1
target=$2
work=$(mktemp -d)
chmod 700 "$work"
export BROKERCTL_HOME=$work/home
export BROKERCTL_PASSPHRASE_FILE=$work/pass
unset BROKERCTL_SOCKET XDG_RUNTIME_DIR BROKERCTL_JAVA_OPTS
printf '%s\n' 'training passphrase, not a secret' > "$BROKERCTL_PASSPHRASE_FILE"
full() { "$java" -XX:+UseSerialGC -Xlog:disable -Xlog:all=error:stderr -jar "$target/brokerctl.jar" "$@"; }
cleanup() { full stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

full init --kdf-memory-mib 19 >/dev/null
full env create train --policy auto >/dev/null
printf %s 'training-token-value-0123' | full set train TOKEN >/dev/null
full daemon --detach >/dev/null
rm -f "$target/brokerctl-run.jsa"
env -u BROKERCTL_PASSPHRASE_FILE "$java" -XX:ArchiveClassesAtExit="$target/brokerctl-run.jsa" \
    -XX:+UseSerialGC -XX:-UsePerfData -XX:TieredStopAtLevel=1 -Xlog:disable -Xlog:all=error:stderr \
    -jar "$target/brokerctl-run.jar" run --env train --reason 'build: AppCDS training' -- \
    sh -c 'echo "$TOKEN"; echo on stderr >&2' </dev/null
test -s "$target/brokerctl-run.jsa"

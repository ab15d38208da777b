#!/usr/bin/env bash
# AppCDS archive for `brokerctl mcp`: one real MCP session (initialize, tools/list, the listing
# tools, a run_command that completes, get_run, list_runs), then the same as 2026-07-28 requests
# (server/discover, tools/list, broker_status, run_command), against a real daemon, in a throwaway
# home, started as the launcher starts a bare `brokerctl mcp` (McpMain, no picocli). Run by the
# build (package phase); bin/brokerctl uses brokerctl-mcp.jsa for `mcp` when it exists.
# Usage: train-mcp-archive.sh JAVA TARGET_DIR
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
rm -f "$target/brokerctl-mcp.jsa"
coproc MCP { env -u BROKERCTL_PASSPHRASE_FILE "$java" -XX:ArchiveClassesAtExit="$target/brokerctl-mcp.jsa" \
    -XX:+UseSerialGC -XX:-UsePerfData -Xlog:disable -Xlog:all=error:stderr -cp "$target/brokerctl.jar" \
    dev.brokerctl.mcp.McpMain \
    2>/dev/null; }
# sends one line; for a request, waits for the line that answers it and prints it
ask() {
    printf '%s\n' "$2" >&"${MCP[1]}"
    [ "$1" = - ] && return 0
    local line
    while IFS= read -r -t 60 line <&"${MCP[0]}"; do
        case $line in *"\"id\":$1,"*) printf '%s\n' "$line"; return 0 ;; esac
    done
    echo "train-mcp-archive: no answer to request $1" >&2
    return 1
}
call() { ask "$1" '{"jsonrpc":"2.0","id":'"$1"',"method":"tools/call","params":{"name":"'"$2"'","arguments":'"$3"'}}'; }
ask 1 '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"build","version":"1"}}}' >/dev/null
ask - '{"jsonrpc":"2.0","method":"notifications/initialized"}'
ask 2 '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' >/dev/null
call 3 broker_status '{}' >/dev/null
call 4 list_environments '{}' >/dev/null
call 5 list_variables '{"environment":"train"}' >/dev/null
run=$(call 6 run_command '{"environment":"train","command":["sh","-c","echo \"$TOKEN\""],"variables":["TOKEN"],"reason":"build: AppCDS training"}')
handle=$(printf '%s' "$run" | grep -o '"run_id":"r_[a-z2-7]*"' | head -1 | cut -d'"' -f4)
case $run in *'"status":"completed"'*) ;; *) echo "train-mcp-archive: the run did not complete: $run" >&2; exit 1 ;; esac
call 7 get_run '{"run_id":"'"$handle"'","stdout_offset":0}' >/dev/null
call 8 list_runs '{}' >/dev/null
# the same line speaks 2026-07-28 too: stateless requests with their version in _meta
meta='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"build","version":"1"}}'
ask 9 '{"jsonrpc":"2.0","id":9,"method":"server/discover","params":{'"$meta"'}}' >/dev/null
ask 10 '{"jsonrpc":"2.0","id":10,"method":"tools/list","params":{'"$meta"'}}' >/dev/null
call 11 broker_status '{},'"$meta" >/dev/null
run=$(call 12 run_command '{"environment":"train","command":["sh","-c","echo \"$TOKEN\""],"variables":["TOKEN"],"reason":"build: AppCDS training"},'"$meta")
case $run in *'"status":"completed"'*) ;; *) echo "train-mcp-archive: the 2026-07-28 run did not complete: $run" >&2; exit 1 ;; esac
exec {MCP[1]}>&-
wait "$MCP_PID"
test -s "$target/brokerctl-mcp.jsa"

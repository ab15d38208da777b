#!/usr/bin/env python3
# Interleaved A/B start-up of MCP server commands: spawn, initialize, tools/list; wall time to the
# tools/list answer and the process's CPU time (user+sys, its whole life), medians.
# Usage: BROKERCTL_HOME=/tmp/some-home mcp-e2e/bench/startup-ab.py ROUNDS 'command A' 'command B' ...
# e.g. startup-ab.py 12 "bin/brokerctl mcp" "env BROKERCTL_JAVA_OPTS=-XX:-TieredCompilation bin/brokerctl mcp"
import subprocess, sys, time, resource, shlex, statistics
n = int(sys.argv[1]); cmds = [shlex.split(c) for c in sys.argv[2:]]
res = [([], []) for _ in cmds]
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"st","version":"1"}}}\n'
for i in range(n):
    for k, cmd in enumerate(cmds):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        p.stdin.write(INIT.encode()); p.stdin.flush()
        p.stdout.readline()
        p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'); p.stdin.flush()
        l = p.stdout.readline(); t = time.perf_counter() - t0
        assert b'"tools"' in l, l[:200]
        p.stdin.close(); p.wait()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        res[k][0].append(t*1000); res[k][1].append(1000*((r1.ru_utime-r0.ru_utime)+(r1.ru_stime-r0.ru_stime)))
for k, cmd in enumerate(cmds):
    w, c = res[k]
    print(f"[{k}] wall p50 {statistics.median(w):6.0f} ms (min {min(w):4.0f})  cpu p50 {statistics.median(c):6.0f} ms   {' '.join(cmd)[-60:]}")

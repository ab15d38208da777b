#!/usr/bin/env python3
"""Splits run_command calls traced by mcp-latency.mjs (MCP_TRACE=FILE) between the Node client,
the MCP server and the daemon. Usage: trace-split.py FILE [first N calls, default 20]

Per call, from the stamps on one clock (microseconds, CLOCK_MONOTONIC):
  client->server   call-start (Node) .. line-read (server read the request line)
  server in        line-read .. daemon-run-sent (parse, SDK dispatch, thread hand-off, checks, connect+hello)
  daemon           daemon-run-sent .. daemon-run_get-answered (run {detach} and run_get: the daemon's
                   share, plus the frames' encoding on both sides)
  server out       daemon-run_get-answered .. line-written (result mapping, the run's notifications/message,
                   the SDK's output check, JSON, write of the result: the last line of the call)
  server->client   line-written .. call-end (Node reads, parses and validates the result)
"""
import statistics, sys

path = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
events = []
for line in open(path):
    parts = line.split()
    if len(parts) >= 3:
        events.append((int(parts[0]), parts[-1]))
events.sort()
calls, cur = [], None
for t, e in events:
    if e == 'call-start':
        cur = {'call-start': t}
    elif cur is not None:
        # the last line written is the result (a notifications/message about the run goes first)
        if e not in cur or e in ('call-end', 'line-written', 'send-message'):
            cur[e] = t
        if e == 'call-end':
            calls.append(cur)
            cur = None
steps = [('client->server', 'call-start', 'line-read'), ('server in', 'line-read', 'daemon-run-sent'),
         ('  of which connect+hello', 'daemon-connect', 'daemon-run-sent'),
         ('daemon: run {detach}', 'daemon-run-sent', 'daemon-detached'),
         ('daemon: run_get', 'daemon-run_get-sent', 'daemon-run_get-answered'),
         ('daemon total', 'daemon-run-sent', 'daemon-run_get-answered'),
         ('server out', 'daemon-run_get-answered', 'line-written'),
         ('server->client', 'line-written', 'call-end'), ('whole call', 'call-start', 'call-end')]
for label, chunk in (('first %d calls' % n, calls[:n]), ('the rest (%d)' % max(0, len(calls) - n), calls[n:])):
    if not chunk:
        continue
    print(label + ': p50 in ms')
    for name, a, b in steps:
        v = [(c[b] - c[a]) / 1000 for c in chunk if a in c and b in c]
        if v:
            print('  %-26s %7.2f   (min %.2f, max %.2f)' % (name, statistics.median(v), min(v), max(v)))

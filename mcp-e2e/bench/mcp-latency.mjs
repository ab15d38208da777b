// What an agent session costs, in one run, each beside a direct spawn of `true` measured in the
// same run (interleaved, so noise hits both alike):
//   1. start-up: spawn `brokerctl mcp` + initialize + tools/list, `startups` times (default 10);
//   2. the first 20 run_command calls {command: [true]} of a fresh `brokerctl mcp`, against a daemon
//      that has served no run before them (the figure an agent session meets);
//   3. after `warmup` more calls (default 500), `calls` warmed calls (default 200).
// Usage (after `mvn -q -DskipTests package` and `npm ci` in mcp-e2e/):
//   node mcp-e2e/bench/mcp-latency.mjs [calls] [warmup] [startups]
// MCP_ERA=2026-07-28 measures the same with the v2 SDK client (@modelcontextprotocol/client) pinned
// to MCP 2026-07-28 over the SDK's own stdio transport, as a client built on it connects: it probes
// with server/discover on a short-lived second `brokerctl mcp`, then starts the session's one, so
// "spawn + initialize" is two JVM starts there (one discover, one tools/list on the second).
// With MCP_TRACE=FILE, the MCP server of the measured session writes its timestamps to FILE
// (-Dbrokerctl.mcp.trace) and this script adds each call's start and end on the same clock
// (CLOCK_MONOTONIC); mcp-e2e/bench/trace-split.py FILE splits the first 20 calls between the
// client, the MCP server and the daemon.
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Client as V2Client } from '@modelcontextprotocol/client';
import { StdioClientTransport as V2Transport } from '@modelcontextprotocol/client/stdio';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const calls = Number(process.argv[2] ?? 200);
const warmup = Number(process.argv[3] ?? 500);
const startups = Number(process.argv[4] ?? 10);
const modern = process.env.MCP_ERA === '2026-07-28';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'brokerctl');
const home = mkdtempSync(join(tmpdir(), 'brokerctl-bench-'));
chmodSync(home, 0o700);
const pass = join(home, 'pass');
writeFileSync(pass, 'bench passphrase, not a secret\n');
const base = { PATH: process.env.PATH, BROKERCTL_HOME: join(home, 'home'), ...(process.env.JAVA_HOME ? { JAVA_HOME: process.env.JAVA_HOME } : {}) };
const admin = { ...base, BROKERCTL_PASSPHRASE_FILE: pass };
const sh = (args, input) => execFileSync(bin, args, { env: admin, input, stdio: ['pipe', 'pipe', 'pipe'] });

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
const ms = (ns) => Number(ns) / 1e6;

async function spawnTrue() {
  const t0 = process.hrtime.bigint();
  await new Promise((res, rej) => spawn('true').on('exit', res).on('error', rej));
  return process.hrtime.bigint() - t0;
}

try {
  sh(['init', '--kdf-memory-mib', '19']);
  sh(['env', 'create', 'bench', '--policy', 'auto']);
  sh(['set', 'bench', 'TOKEN'], 'bench-token-value-0123456789');
  sh(['daemon', '--detach']);

  const row = (name, v) => {
    const sorted = [...v].sort((x, y) => (x < y ? -1 : 1));
    console.log(`  ${name.padEnd(44)} p50 ${ms(percentile(sorted, 0.5)).toFixed(2).padStart(8)} ms   p99 ${ms(percentile(sorted, 0.99)).toFixed(2).padStart(8)} ms   (n=${v.length})`);
    return ms(percentile(sorted, 0.5));
  };
  const trace = process.env.MCP_TRACE;
  const connect = async (traced) => {
    // MCP_JAVA_OPTS: more JVM flags for the measured session (e.g. -Dbrokerctl.mcp.nowarmup=true)
    const opts = [trace ? `-Dbrokerctl.mcp.trace=${trace}` : '', process.env.MCP_JAVA_OPTS ?? ''].join(' ').trim();
    const env = traced && opts ? { ...base, BROKERCTL_JAVA_OPTS: opts } : base;
    const params = { command: bin, args: ['mcp'], env, stderr: 'ignore' };
    const transport = modern ? new V2Transport(params) : new V1Transport(params);
    const client = modern
      ? new V2Client({ name: 'mcp-latency-bench', version: '2' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } })
      : new V1Client({ name: 'mcp-latency-bench', version: '1' });
    await client.connect(transport);
    return client;
  };

  // 1. start-up
  const start = [];
  for (let i = 0; i < startups; i++) {
    const t0 = process.hrtime.bigint();
    const c = await connect();
    await c.listTools();
    start.push(process.hrtime.bigint() - t0);
    await c.close();
  }
  console.log(`MCP ${modern ? '2026-07-28 (v2 SDK client, pinned)' : '2025-11-25 (v1 SDK client)'}`);
  console.log(`start-up of brokerctl mcp, ${startups} times (the first is the first JVM start after the build's page cache)`);
  row(modern ? 'spawn + discover, spawn + tools/list' : 'spawn + initialize + tools/list', start);
  console.log(`  first: ${ms(start[0]).toFixed(0)} ms`);

  const client = await connect(true);
  const args = { environment: 'bench', command: ['true'], variables: [], reason: 'benchmark' };
  const measure = async (n) => {
    const mcp = [];
    const direct = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      const r = await client.callTool({ name: 'run_command', arguments: args });
      const t1 = process.hrtime.bigint();
      mcp.push(t1 - t0);
      if (trace) {
        appendFileSync(trace, `${t0 / 1000n} client call-start\n${t1 / 1000n} client call-end\n`);
      }
      if (r.structuredContent?.status !== 'completed') throw new Error(`run ${i}: ${JSON.stringify(r.structuredContent)}`);
      direct.push(await spawnTrue());
    }
    return { mcp, direct };
  };
  // 2. the first 20 calls of a fresh session, against a daemon that served no run yet
  const first = await measure(20);
  console.log('the first 20 run_command calls of a fresh session (a daemon that had served no run)');
  const f1 = row('MCP run_command {command: [true]}', first.mcp);
  const f2 = row('direct spawn of true (Node)', first.direct);
  console.log(`  overhead p50 ${(f1 - f2).toFixed(2)} ms`);
  // 3. warmed
  for (let i = 0; i < warmup; i++) {
    await client.callTool({ name: 'run_command', arguments: args });
    await spawnTrue();
  }
  const warm = await measure(calls);
  console.log(`${calls} calls after ${warmup} more warm-up calls, the same session`);
  const w1 = row('MCP run_command {command: [true]}', warm.mcp);
  const w2 = row('direct spawn of true (Node)', warm.direct);
  console.log(`  overhead p50 ${(w1 - w2).toFixed(2)} ms`);
  await client.close();
} finally {
  try { sh(['stop']); } catch { /* already stopped */ }
  rmSync(home, { recursive: true, force: true });
}

// Round-trip latency of MCP run_command for `true` in an auto environment (warm daemon, one
// client session), beside a direct spawn of `true` measured in the same run.
// Warm: `warmup` calls (default 500) first, so that the daemon's and the MCP server's JIT have
// compiled the run path, as after a few hundred calls in real use; `warmup` = 20 measures a
// freshly started pair.
// Usage (after `mvn -q -DskipTests package` and `npm ci` in mcp-e2e/):
//   node mcp-e2e/bench/mcp-latency.mjs [calls] [warmup]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const calls = Number(process.argv[2] ?? 200);
const warmup = Number(process.argv[3] ?? 500);
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

  const transport = new StdioClientTransport({ command: bin, args: ['mcp'], env: base, stderr: 'ignore' });
  const client = new Client({ name: 'mcp-latency-bench', version: '1' });
  await client.connect(transport);
  const args = { environment: 'bench', command: ['true'], variables: [], reason: 'benchmark' };
  for (let i = 0; i < warmup; i++) {                 // warm both sides
    await client.callTool({ name: 'run_command', arguments: args });
    await spawnTrue();
  }
  const mcp = [];
  const direct = [];
  for (let i = 0; i < calls; i++) {                  // alternate, so noise hits both alike
    const t0 = process.hrtime.bigint();
    const r = await client.callTool({ name: 'run_command', arguments: args });
    mcp.push(process.hrtime.bigint() - t0);
    if (r.structuredContent?.status !== 'completed') throw new Error(`run ${i}: ${JSON.stringify(r.structuredContent)}`);
    direct.push(await spawnTrue());
  }
  await client.close();
  mcp.sort((a, b) => (a < b ? -1 : 1));
  direct.sort((a, b) => (a < b ? -1 : 1));
  const row = (name, v) => console.log(`  ${name.padEnd(34)} p50 ${ms(percentile(v, 0.5)).toFixed(2).padStart(7)} ms   p99 ${ms(percentile(v, 0.99)).toFixed(2).padStart(7)} ms`);
  console.log(`${calls} calls after ${warmup} warm-up calls, one MCP session`);
  row('MCP run_command {command: [true]}', mcp);
  row('direct spawn of true (Node)', direct);
  console.log(`  overhead p50 ${(ms(percentile(mcp, 0.5)) - ms(percentile(direct, 0.5))).toFixed(2)} ms`);
} finally {
  try { sh(['stop']); } catch { /* already stopped */ }
  rmSync(home, { recursive: true, force: true });
}

// End-to-end, MCP 2026-07-28: the official MCP TypeScript SDK v2 client (@modelcontextprotocol/client),
// pinned to 2026-07-28, drives `brokerctl mcp` (the real launcher and jar) against a real daemon in a
// temporary home: server/discover, no initialize, every request stateless. A run it starts is read
// from a 2025-11-25 session of the v1 SDK: runs belong to the daemon, whichever revision asked.
// At the end, no value is in either transcript, the servers' stderr or the daemon's log.
import { after, before, describe, test } from 'node:test';
import { existsSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';

import { BrokerHome, LAUNCHER } from '../lib/brokerctl.js';
import { PASSPHRASE, TOKEN_DEV, TOKEN_PROD } from '../lib/canaries.js';
import { check, equal, includes, noSecretIn, show } from '../lib/check.js';
import { recording, RecordingStdioTransport } from '../lib/recording-transport.js';
import { waitFor } from '../lib/wait.js';

const MODERN = '2026-07-28';
const TOOLS = ['broker_status', 'list_environments', 'list_variables', 'run_command', 'get_run', 'stop_run',
  'list_runs', 'request_variable'];
const MASKED_TOKEN = '[MASKED:TOKEN]';
const ModernRecordingTransport = recording(StdioClientTransport);

const s = { home: null, transport: null, client: null, legacyTransport: null, legacy: null, handle: null };

const sent = (t) => t.transcript.filter((m) => m.dir === 'sent').map((m) => JSON.parse(m.text));

describe('brokerctl mcp over MCP 2026-07-28, end to end', { concurrency: 1 }, () => {
  before(async () => {
    const home = await BrokerHome.create(PASSPHRASE);
    s.home = home;
    await home.ok(['init', '--kdf-memory-mib', '19']);
    await home.ok(['env', 'create', 'dev', '--policy', 'auto']);
    await home.ok(['env', 'create', 'prod']);
    await home.ok(['set', 'dev', 'TOKEN', '--description', 'e2e API token'], { input: TOKEN_DEV });
    await home.ok(['set', 'prod', 'TOKEN', '--description', 'e2e production token'], { input: TOKEN_PROD });
    await home.ok(['daemon', '--detach', '--approval-timeout', '20s']);
    check(home.socketExists(), `no socket at ${home.socket}`);
    // a subclass of the SDK's transport probes on its own connection (the base class would spawn a
    // sibling process for server/discover): the probe is in the transcript
    s.transport = new ModernRecordingTransport({ command: LAUNCHER, args: ['mcp'], env: home.mcpEnv, cwd: home.root });
    s.client = new Client({ name: 'brokerctl-e2e-v2', version: '2.0.0' },
      { capabilities: {}, versionNegotiation: { mode: { pin: MODERN } } });
    await s.client.connect(s.transport);
  });

  after(async () => {
    const problems = [];
    const attempt = async (what, f) => {
      try {
        await f();
      } catch (e) {
        problems.push(`${what}: ${e.message}`);
      }
    };
    for (const [client, transport] of [[s.client, s.transport], [s.legacy, s.legacyTransport]]) {
      if (client) {
        await attempt('closing an MCP client', async () => {
          await client.close();
          await waitFor('brokerctl mcp to exit', () => transport.exit, { timeoutMs: 10_000 });
          equal(transport.exit, { code: 0, signal: null }, 'brokerctl mcp exit after stdin closed');
        });
      }
    }
    if (s.home) {
      await attempt('brokerctl stop', () => s.home.ok(['stop']));
      await attempt('removing the home', () => s.home.remove());
      check(!existsSync(s.home.root), `${s.home.root} still exists`);
    }
    check(problems.length === 0, () => problems.join('\n'));
  });

  test('1. the client negotiated 2026-07-28 with server/discover, and never sent initialize', () => {
    equal(s.client.getNegotiatedProtocolVersion(), MODERN, 'the negotiated protocol version');
    const methods = sent(s.transport).map((m) => m.method);
    equal(methods[0], 'server/discover', 'the first message');
    check(!methods.includes('initialize'), () => `no initialize in a 2026-07-28 connection: ${show(methods)}`);
    includes(s.client.getInstructions() ?? '', 'list_variables', 'the server\'s instructions came with server/discover');
    equal(s.client.getServerVersion()?.name, 'brokerctl', 'the server\'s name');
  });

  test('2. tools/list gives the eight tools; each request carries its version in _meta', async () => {
    const { tools } = await s.client.listTools();
    equal(tools.map((t) => t.name), TOOLS, 'tool names');
    for (const t of tools) {
      check(t.description && t.inputSchema?.type === 'object' && t.outputSchema?.type === 'object',
        () => `${t.name}: a description and object schemas`);
    }
    const list = sent(s.transport).find((m) => m.method === 'tools/list');
    equal(list.params?._meta?.['io.modelcontextprotocol/protocolVersion'], MODERN, 'tools/list names its version');
  });

  test('3. run_command in dev: the value reaches the command, masked raw and in base64', async () => {
    const r = await s.client.callTool({
      name: 'run_command',
      arguments: {
        environment: 'dev',
        command: ['sh', '-c', 'printf "%s\\n" "$TOKEN"; printf %s "$TOKEN" | base64'],
        variables: ['TOKEN'],
        reason: 'e2e v2: masking',
      },
    });
    check(r.isError !== true, () => `run_command is not an error: ${show(r.content)}`);
    const run = r.structuredContent;
    equal(run.status, 'completed', 'status');
    equal(run.exit_code, 0, 'exit code');
    equal(run.stdout, `${MASKED_TOKEN}\n${MASKED_TOKEN}\n`, 'stdout');
    check(run.masked_count >= 2, () => `masked_count ${run.masked_count}`);
    s.handle = run.run_id;
  });

  test('4. a run in prod waits for a human; stop_run withdraws it', async () => {
    const r = await s.client.callTool({
      name: 'run_command',
      arguments: { environment: 'prod', command: ['true'], variables: ['TOKEN'], reason: 'e2e v2', wait_seconds: 0 },
    });
    equal(r.structuredContent.status, 'pending_approval', 'status before anyone approved');
    check(r.isError !== true, 'waiting for a human is not an error');
    const stopped = await s.client.callTool({ name: 'stop_run', arguments: { run_id: r.structuredContent.run_id } });
    equal(stopped.structuredContent.status, 'stopped', 'status after stop_run');
  });

  test('5. a 2025-11-25 session (the v1 SDK) reads the run the 2026-07-28 client started', async () => {
    s.legacyTransport = new RecordingStdioTransport({ command: LAUNCHER, args: ['mcp'], env: s.home.mcpEnv, cwd: s.home.root });
    s.legacy = new V1Client({ name: 'brokerctl-e2e-v1', version: '1.0.0' }, { capabilities: {} });
    await s.legacy.connect(s.legacyTransport);
    equal(s.legacy.getServerVersion()?.name, 'brokerctl', 'the legacy session\'s server');
    const got = await s.legacy.callTool({ name: 'get_run', arguments: { run_id: s.handle, stdout_offset: 0 } });
    equal(got.structuredContent.status, 'completed', 'the run, read from the other revision');
    equal(got.structuredContent.stdout, `${MASKED_TOKEN}\n${MASKED_TOKEN}\n`, 'its masked output');
  });

  test('6. no value in either transcript, the servers\' stderr or the daemon\'s log', async () => {
    for (const [t, what] of [[s.transport, '2026-07-28'], [s.legacyTransport, '2025-11-25']]) {
      check(t.transcript.length >= 4, `the ${what} session has a transcript`);
      for (const m of t.transcript.filter((x) => x.dir === 'received')) {
        check(JSON.parse(m.text).jsonrpc === '2.0', 'every received line is JSON-RPC 2.0');
      }
      noSecretIn(t.transcriptText, `the ${what} MCP transcript`);
      noSecretIn(t.serverStderr, `the stderr of brokerctl mcp (${what})`);
    }
    includes(s.transport.serverStderr, 'serving MCP on stdio', 'the server\'s stderr was recorded');
    noSecretIn(s.home.cliTranscript.join('\n'), 'the output of the setup commands');
    noSecretIn(await s.home.daemonLog(), 'the daemon\'s log');
  });
});

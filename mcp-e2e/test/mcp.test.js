// End-to-end: the official MCP TypeScript SDK client drives `brokerctl mcp` (the real launcher and
// jar) against a real daemon in a temporary home; an approver console is played over the daemon's
// socket. At the end, nothing the client saw or the server logged holds a value in any form the
// masker covers. Tests run in order and share one daemon and one MCP session.
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { approverKey, connectApprover, handshake } from '../lib/approver.js';
import { BrokerHome, LAUNCHER } from '../lib/brokerctl.js';
import { NEW_KEY, PASSPHRASE, PEM, PEM_LINES, TOKEN_DEV, TOKEN_PROD } from '../lib/canaries.js';
import { check, equal, includes, matches, noSecretIn, show } from '../lib/check.js';
import { RawMcpProcess } from '../lib/raw-mcp.js';
import { RecordingStdioTransport } from '../lib/recording-transport.js';
import { loadAjv, structuralProblems } from '../lib/schemas.js';
import { waitFor } from '../lib/wait.js';

const TOOLS = ['broker_status', 'list_environments', 'list_variables', 'run_command', 'get_run', 'stop_run',
  'list_runs', 'request_variable'];
const READ_ONLY = ['broker_status', 'list_environments', 'list_variables', 'get_run', 'list_runs'];
const HANDLE = /^r_[a-z2-7]{26}$/;
const MASKED_TOKEN = '[MASKED:TOKEN]';
const MASKED_PEM = '[MASKED:PEM]';

const sha256 = (s) => createHash('sha256').update(s, 'utf8').digest('hex');

/** Shared by the tests, in order. */
const s = {
  home: null,
  daemonPid: null,
  transport: null,
  client: null,
  /** Output of the brokerctl mcp processes that test 6 spawned itself. */
  rawStdout: [],
  rawStderr: [],
  /** JSON-RPC ids of the run_command calls test 7 cancelled (by abort, by the client's timeout). */
  cancelledIds: [],
  /** Further SDK sessions (tests 9 and on), for the leak check. */
  moreTransports: [],
  /** Every tool's outputSchema, compiled (test 1), to check results the SDK does not (isError ones). */
  outputValidators: null,
};

/** Checks a result's structuredContent against the tool's outputSchema, isError results included. */
function checkStructured(name, r) {
  check(r.structuredContent && typeof r.structuredContent === 'object',
    () => `${name}: every result has structured content, got ${show(r)}`);
  const validate = s.outputValidators?.[name];
  if (validate) {
    check(validate(r.structuredContent), () => `${name}: structuredContent does not match the outputSchema:`
      + ` ${show(validate.errors)} in ${show(r.structuredContent)}`);
  }
}

/**
 * A tool call through the SDK client (which validates structuredContent against the outputSchema
 * unless isError; checkStructured does it for those too).
 */
async function call(name, args, options, client = s.client) {
  const r = await client.callTool({ name, arguments: args }, undefined, options);
  check(Array.isArray(r.content) && r.content.length >= 1 && r.content[0].type === 'text',
    () => `${name}: expected a text content block, got ${show(r.content)}`);
  // the text block is a short summary for a human, not the structured content again
  check(!r.content[0].text.trimStart().startsWith('{'), () => `${name}: the text block is JSON: ${show(r.content[0].text)}`);
  checkStructured(name, r);
  return r;
}

/** A run_command/get_run result that completed with `exitCode`. */
function expectCompleted(r, exitCode, what) {
  const sc = r.structuredContent;
  check(!r.isError, () => `${what}: isError result: ${show(r.content)}`);
  equal(sc.status, 'completed', `${what}: status (message: ${sc.message})`);
  equal(sc.exit_code, exitCode, `${what}: exit_code`);
  return sc;
}

function runDev(command, reason, extra = {}) {
  return call('run_command', { environment: 'dev', command, variables: ['TOKEN', 'PEM'], reason, ...extra });
}

/** A new SDK session (its own brokerctl mcp process), recorded for the leak check. */
async function newSession(name) {
  const transport = new RecordingStdioTransport({ command: LAUNCHER, args: ['mcp'], env: s.home.mcpEnv, cwd: s.home.root });
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  s.moreTransports.push(transport);
  return { client, transport };
}

/** Closes a session: closing stdin ends it and the server exits 0. */
async function closeSession({ client, transport }) {
  await client.close();
  await waitFor('brokerctl mcp to exit', () => transport.exit, { timeoutMs: 10_000 });
  equal(transport.exit, { code: 0, signal: null }, 'brokerctl mcp exit after stdin closed');
}

/**
 * The pid of the one process whose argv holds `marker`, bubblewrap (which carries the command's
 * argv too) aside: runs are in a PID namespace of their own, so $$ there is not the host's pid.
 */
function pidWithArg(marker) {
  const found = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'latin1').split('\0');
      return argv.includes(marker) && !argv[0].endsWith('bwrap');
    } catch {
      return false;
    }
  });
  return found.length === 1 ? Number(found[0]) : null;
}

/** Gone: no such process, or a zombie (the daemon may not have reaped it yet). */
function processGone(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code === 'ESRCH') {
      return true;
    }
    throw e;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state === 'Z' || state === 'X';
  } catch (e) {
    if (e.code === 'ENOENT') {
      return true;
    }
    throw e;
  }
}

// The same known answers as broker-protocol's HandshakeKnownAnswerTest: this approver and the
// daemon implement one construction.
test('0. the approver handshake in node:crypto gives the Java known answers', () => {
  const psk = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  const cn = Buffer.from(Array.from({ length: 32 }, (_, i) => 0xa0 + (i % 16)));
  const dn = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x50 + i));
  const h = handshake(psk, 'approver', cn, dn);
  equal(h.daemonProof.toString('hex'), '90b0ed3e1c52c021b64daa50182e6aeee50c5f5985789889810221c597be1bcc', 'daemon proof');
  equal(h.clientProof.toString('hex'), 'fb8fbbfe7c52b32bae7ca2950660e48bfb348fbeed1373af450274424044eceb', 'client proof');
  equal(h.clientToDaemon.toString('hex'), '66bb86d0a897b4cc0974235099136ab618e2dd4171faf71f9eff4ff02ed1028a', 'client to daemon key');
  equal(h.daemonToClient.toString('hex'), 'a60f66cb9fd8484bff234f50f07b03d48caa1dbb49b86af1ffb79879005dd39f', 'daemon to client key');
});

describe('brokerctl mcp, end to end', { concurrency: 1 }, () => {
  before(async () => {
    const home = await BrokerHome.create(PASSPHRASE);
    s.home = home;
    await home.ok(['init', '--kdf-memory-mib', '19']);   // the floor: init refuses less
    await home.ok(['env', 'create', 'dev', '--policy', 'auto']);
    await home.ok(['env', 'create', 'prod']);
    await home.ok(['set', 'dev', 'TOKEN', '--description', 'e2e API token'], { input: TOKEN_DEV });
    await home.ok(['set', 'prod', 'TOKEN', '--description', 'e2e production token'], { input: TOKEN_PROD });
    await home.ok(['set', 'dev', 'PEM', '--description', 'e2e signing key (PEM)'], { input: PEM });
    const daemon = await home.ok(['daemon', '--detach', '--approval-timeout', '20s']);
    const ready = /brokerctl daemon (\d+) ready on (\S+)/.exec(daemon.stdout);
    check(ready, () => `daemon --detach printed no 'ready' line: ${daemon.stdout}`);
    s.daemonPid = Number(ready[1]);
    equal(ready[2].replace(/;$/, ''), home.socket, 'the daemon\'s socket');
    check(home.socketExists(), `no socket at ${home.socket}`);

    check(!('BROKERCTL_PASSPHRASE_FILE' in home.mcpEnv), 'the MCP server\'s environment has no passphrase file');
    s.transport = new RecordingStdioTransport({ command: LAUNCHER, args: ['mcp'], env: home.mcpEnv, cwd: home.root });
    s.client = new Client({ name: 'brokerctl-e2e', version: '1.0.0' }, { capabilities: {} });
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
    if (s.client) {
      await attempt('closing the MCP client', async () => {
        await s.client.close();
        // closing stdin ends the session: the server exits 0 on its own (the SDK would SIGTERM it after 2 s)
        await waitFor('brokerctl mcp to exit', () => s.transport.exit, { timeoutMs: 10_000 });
        equal(s.transport.exit, { code: 0, signal: null }, 'brokerctl mcp exit after stdin closed');
      });
    }
    if (s.home) {
      await attempt('brokerctl stop', async () => {
        await s.home.ok(['stop']);
        check(!s.home.socketExists(), `the socket file is left after stop: ${s.home.socket}`);
        if (s.daemonPid) {
          await waitFor(`the daemon (pid ${s.daemonPid}) to exit`, () => processGone(s.daemonPid));
        }
      });
      await attempt('removing the home', () => s.home.remove());
      check(!existsSync(s.home.root), `${s.home.root} still exists`);
    }
    check(problems.length === 0, () => problems.join('\n'));
  });

  // ---------------------------------------------------------------- 1. tools/list

  test('1. tools/list: the eight tools, each with description, schemas and annotations', async () => {
    const { tools } = await s.client.listTools();
    equal(tools.map((t) => t.name).sort(), [...TOOLS].sort(), 'tool names');
    const ajv = await loadAjv();
    for (const t of tools) {
      check(typeof t.description === 'string' && t.description.length >= 20, `${t.name}: a description`);
      for (const kind of ['inputSchema', 'outputSchema']) {
        const schema = t[kind];
        check(schema && schema.type === 'object', () => `${t.name}.${kind}: type object, got ${show(schema)}`);
        check(schema.properties && typeof schema.properties === 'object' && !Array.isArray(schema.properties),
          `${t.name}.${kind}: has properties`);
        const problems = structuralProblems(schema, `${t.name}.${kind}`);
        check(problems.length === 0, () => problems.join('; '));
        if (ajv) {
          for (const [draft, compiler] of [['draft-07', ajv.draft7], ['2020-12', ajv.draft2020]]) {
            try {
              compiler.compile(schema);
            } catch (e) {
              throw new Error(`${t.name}.${kind} is not a valid ${draft} JSON Schema (Ajv strict): ${e.message}`);
            }
          }
        }
      }
      check(Object.keys(t.outputSchema.properties).length > 0, `${t.name}: the outputSchema describes fields`);
      const a = t.annotations;
      check(a && typeof a === 'object', `${t.name}: annotations`);
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint']) {
        check(typeof a[hint] === 'boolean', `${t.name}: annotations.${hint} is a boolean`);
      }
      equal(a.readOnlyHint, READ_ONLY.includes(t.name), `${t.name}: annotations.readOnlyHint`);
    }
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    equal(byName.stop_run.annotations.destructiveHint, true, 'stop_run: destructiveHint');
    equal(byName.run_command.annotations.readOnlyHint, false, 'run_command: readOnlyHint');
    equal(byName.list_variables.inputSchema.required, ['environment'], 'list_variables: required');
    equal([...byName.run_command.inputSchema.required].sort(), ['command', 'environment', 'reason', 'variables'],
      'run_command: required');
    if (ajv) {
      s.outputValidators = Object.fromEntries(tools.map((t) => [t.name, ajv.draft2020.compile(t.outputSchema)]));
    }
    if (ajv) {
      check(ajv.warnings.length === 0, () => `Ajv warnings: ${ajv.warnings.join('; ')}`);
      // the input schemas say what a call may carry
      const input = ajv.draft2020.compile(byName.run_command.inputSchema);
      const ok = { environment: 'dev', command: ['true'], variables: [], reason: 'r' };
      check(input(ok), 'a valid run_command call passes');
      check(!input({ ...ok, reason: undefined }), 'run_command without reason fails');
      check(!input({ environment: 'dev', command: ['true'], reason: 'r' }), 'run_command without variables fails');
      check(!input({ ...ok, environment: 'Dev!' }), 'a bad environment name fails');
      check(!input({ ...ok, command: [] }), 'an empty command fails');
      check(!input({ ...ok, extra: 1 }), 'an unknown argument fails');
    }
  });

  // ---------------------------------------------------------------- 2. status and names

  test('2. broker_status, list_environments, list_variables: state and names, never a value', async () => {
    const status = await call('broker_status', {});
    check(!status.isError, 'broker_status is not an error');
    equal(status.structuredContent.running, true, 'broker_status.running');
    equal(status.structuredContent.locked, false, 'broker_status.locked');
    equal(status.structuredContent.pending_approvals, 0, 'broker_status.pending_approvals');
    equal(status.structuredContent.socket, s.home.socket, 'broker_status.socket');
    includes(status.structuredContent.message, 'unlocked', 'broker_status.message');

    const envs = await call('list_environments', {});
    const byName = Object.fromEntries(envs.structuredContent.environments.map((e) => [e.name, e]));
    equal(Object.keys(byName).sort(), ['dev', 'prod'], 'environment names');
    equal(byName.dev, { name: 'dev', policy: 'auto', variable_count: 2 }, 'dev');
    equal(byName.prod, { name: 'prod', policy: 'prompt', variable_count: 1 }, 'prod');

    const vars = await call('list_variables', { environment: 'dev' });
    equal(vars.structuredContent.environment, 'dev', 'list_variables.environment');
    const items = vars.structuredContent.variables;
    equal(items.map((v) => v.name).sort(), ['PEM', 'TOKEN'], 'variable names in dev');
    for (const v of items) {
      equal(Object.keys(v).sort(), ['description', 'name', 'updated_at'], `${v.name}: fields (no value)`);
      check(!Number.isNaN(Date.parse(v.updated_at)), `${v.name}: updated_at is a time`);
    }
    equal(items.find((v) => v.name === 'TOKEN').description, 'e2e API token', 'TOKEN description');
    equal(items.find((v) => v.name === 'PEM').description, 'e2e signing key (PEM)', 'PEM description');
    noSecretIn(JSON.stringify([status, envs, vars]), 'the listing results');

    const unknown = await call('list_variables', { environment: 'nope' });
    check(unknown.isError, 'list_variables of an unknown environment is an isError result');
    includes(unknown.content[0].text, 'list_environments', 'the error says what to call');
  });

  // ---------------------------------------------------------------- 3. runs in an auto environment

  test('3. run_command in dev: values masked raw, encoded and line by line; exit codes; a missing command', async () => {
    const printenv = expectCompleted(await runDev(['printenv', 'TOKEN'], 'e2e: printenv'), 0, 'printenv TOKEN');
    equal(printenv.stdout, `${MASKED_TOKEN}\n`, 'printenv TOKEN stdout');
    equal(printenv.stderr, '', 'printenv TOKEN stderr');
    check(printenv.masked_count >= 1, () => `masked_count ${printenv.masked_count}`);
    includes(printenv.message, 'masked', 'the message mentions masking');
    matches(printenv.run_id, HANDLE, 'run_id is the daemon\'s unguessable handle');
    check(Number.isInteger(printenv.run_number), () => `run_number is the daemon's number: ${show(printenv.run_number)}`);
    equal(printenv.stdout_next_offset, printenv.stdout_total_bytes, 'all of stdout was returned');
    check(!printenv.stdout_truncated, 'printenv: not truncated');

    const b64 = expectCompleted(await runDev(['sh', '-c', 'printf %s "$TOKEN" | base64'], 'e2e: base64'), 0, 'base64');
    equal(b64.stdout, `${MASKED_TOKEN}\n`, 'base64 of TOKEN');
    check(b64.masked_count >= 1, 'base64: masked_count >= 1');

    // url-safe base64, base64 at another alignment, hex lower and upper; and the right value was injected
    const script = [
      'printf %s "$TOKEN" | base64 | tr "+/" "-_"',
      'printf "ab%s" "$TOKEN" | base64 -w0; echo',
      'printf %s "$TOKEN" | od -An -v -tx1 | tr -d " \\n"; echo',
      'printf %s "$TOKEN" | od -An -v -tx1 | tr -d " \\n" | tr a-f A-F; echo',
      'printf %s "$TOKEN" | sha256sum',
    ].join('; ');
    const enc = expectCompleted(await runDev(['sh', '-c', script], 'e2e: encodings'), 0, 'encodings');
    const lead = Buffer.from(`ab${TOKEN_DEV}`).toString('base64').slice(0, 3); // bits of "ab" (and 2 of the value)
    equal(enc.stdout, `${MASKED_TOKEN}\n${lead}${MASKED_TOKEN}\n${MASKED_TOKEN}\n${MASKED_TOKEN}\n${sha256(TOKEN_DEV)}  -\n`,
      'encodings of TOKEN (and the sha256 of dev\'s value)');
    check(enc.masked_count >= 4, () => `encodings: masked_count ${enc.masked_count}`);

    // a multi-line value: whole, then each line on its own (tac reverses them, sed picks one)
    const pem = expectCompleted(await runDev(['sh', '-c', 'printf "%s\\n" "$PEM"'], 'e2e: pem'), 0, 'PEM');
    const pemLines = pem.stdout.split('\n').filter((l) => l !== '');
    check(pemLines.length >= 1 && pemLines.every((l) => l === MASKED_PEM), () => `PEM stdout: ${show(pem.stdout)}`);
    const reversed = expectCompleted(await runDev(['sh', '-c', 'printf %s "$PEM" | tac'], 'e2e: pem lines'), 0, 'PEM | tac');
    equal(reversed.stdout, `${MASKED_PEM}\n`.repeat(PEM_LINES.length + 2), 'each line of PEM, reversed');
    check(reversed.masked_count >= PEM_LINES.length + 2, () => `PEM | tac: masked_count ${reversed.masked_count}`);
    const second = expectCompleted(await runDev(['sh', '-c', 'printf %s "$PEM" | sed -n 3p'], 'e2e: pem line'), 0, 'PEM line 2');
    equal(second.stdout, `${MASKED_PEM}\n`, 'one line of PEM alone');

    const seven = expectCompleted(await runDev(['sh', '-c', 'echo out; echo err >&2; exit 7'], 'e2e: exit 7'), 7, 'exit 7');
    equal(seven.stdout, 'out\n', 'exit 7 stdout');
    equal(seven.stderr, 'err\n', 'exit 7 stderr');
    includes(seven.message, 'code 7', 'exit 7 message');

    const missing = await runDev(['brokerctl-e2e-no-such-command'], 'e2e: missing command');
    check(missing.isError === true, 'a missing command is an isError result (the call could not be carried out)');
    equal(missing.structuredContent.status, 'failed_to_start', 'missing command: status');
    equal(missing.structuredContent.exit_code, null, 'missing command: exit_code');
    const text = missing.content[0].text;
    includes(text, 'brokerctl-e2e-no-such-command', 'the error names the command');
    includes(text, 'not found', 'the error says what happened');
    includes(text, 'check the command name, or give its absolute path', 'the error says what to do');
  });

  // ---------------------------------------------------------------- 4. prompt policy

  test('4. run_command in prod waits for an approver: approved runs, denied does not, stop_run withdraws', async () => {
    const { approver, hello } = await connectApprover(s.home.socket, approverKey(s.home.home, s.home.passphraseFile));
    try {
      equal(hello.protocol, 3, 'hello.protocol');
      equal(hello.locked, false, 'hello.locked');
      equal(hello.pid, s.daemonPid, 'hello.pid is the daemon');

      const command = ['sh', '-c', 'printenv TOKEN; printf %s "$TOKEN" | sha256sum'];
      const pending = await call('run_command',
        { environment: 'prod', command, variables: ['TOKEN'], reason: 'e2e: an approved run', wait_seconds: 2 });
      const p = pending.structuredContent;
      check(!pending.isError, 'pending_approval is not an error');
      equal(p.status, 'pending_approval', `prod run: status (message: ${p.message})`);
      matches(p.run_id, HANDLE, 'prod run: run_id');
      includes(p.message, 'get_run', 'pending message says how to keep waiting');
      equal(p.exit_code, null, 'pending: exit_code');
      // the agent was told in a notifications/message where the human approves it
      const notes = s.transport.transcript.filter((m) => m.dir === 'received').map((m) => JSON.parse(m.text))
        .filter((m) => m.method === 'notifications/message');
      check(notes.some((m) => m.params.data.includes(`run ${p.run_number} waits`) && m.params.data.includes('brokerctl approve')),
        () => `a notifications/message says the run waits in brokerctl approve: ${show(notes)}`);

      const list = await approver.expect({ type: 'pending_list' }, 'pending');
      const run = list.runs.find((r) => r.run_id === p.run_number);
      check(run, () => `run ${p.run_number} in pending_list: ${show(list.runs)}`);
      equal(run.environment, 'prod', 'pending run environment');
      equal(run.argv, command, 'pending run argv');
      equal(run.reason, 'e2e: an approved run', 'pending run reason');
      includes(run.claimed.name, 'brokerctl mcp', 'pending run: the client it claims to be');
      includes(run.claimed.name, 'brokerctl-e2e', 'pending run: the claim names the MCP client');
      check(run.verified.pid > 0 && run.verified.pid !== process.pid, () => `pending run: the verified pid is the MCP server's: ${show(run.verified)}`);
      equal(run.masking, true, 'pending run: masking');
      equal(run.override_count, 0, 'pending run: the agent\'s environment is not sent');
      matches(run.request_hash, /^[0-9a-f]{64}$/, 'request_hash');
      matches(run.code, /^[A-HJKMNP-Z2-9]{3}-[A-HJKMNP-Z2-9]{3}$/, 'one-time code (6 characters without 0/O/1/I/L)');

      // approving needs the code and the hash of exactly this request
      const noCode = await approver.call({ type: 'decide', run_id: p.run_number, decision: 'approve', request_hash: run.request_hash });
      equal([noCode.type, noCode.code], ['error', 'invalid'], 'approve without the code');
      const otherHash = await approver.call({ type: 'decide', run_id: p.run_number, decision: 'approve',
        request_hash: '0'.repeat(64), code: run.code });
      equal([otherHash.type, otherHash.code], ['error', 'invalid'], 'approve with another request hash');
      equal((await call('get_run', { run_id: p.run_id, wait_seconds: 0 })).structuredContent.status, 'pending_approval',
        'still pending after refused decisions');

      await approver.expect({ type: 'decide', run_id: p.run_number, decision: 'approve', request_hash: run.request_hash,
        code: run.code }, 'ok');
      const again = await approver.call({ type: 'decide', run_id: p.run_number, decision: 'approve',
        request_hash: run.request_hash, code: run.code });
      equal([again.type, again.code], ['error', 'not_found'], 'a decision is used once');

      const done = expectCompleted(await call('get_run', { run_id: p.run_id, wait_seconds: 20 }), 0, 'approved run');
      equal(done.stdout, `${MASKED_TOKEN}\n${sha256(TOKEN_PROD)}  -\n`, 'approved run stdout (prod\'s value injected)');
      check(done.masked_count >= 1, 'approved run: masked_count >= 1');
      equal(done.run_id, p.run_id, 'get_run: same run_id');

      // denied, with a message the agent gets
      const marker = join(s.home.root, 'denied-ran');
      const denied = await call('run_command',
        { environment: 'prod', command: ['touch', marker], variables: [], reason: 'e2e: a denied run', wait_seconds: 2 });
      equal(denied.structuredContent.status, 'pending_approval', 'second prod run: pending');
      const list2 = await approver.expect({ type: 'pending_list' }, 'pending');
      const run2 = list2.runs.find((r) => r.run_id === denied.structuredContent.run_number);
      check(run2, 'the second run is in pending_list');
      await approver.expect({ type: 'decide', run_id: run2.run_id, decision: 'deny', message: 'not on a Friday (e2e)' }, 'ok');
      const d = await call('get_run', { run_id: denied.structuredContent.run_id, wait_seconds: 20 });
      check(!d.isError, 'a denied run is a result, not an error');
      equal(d.structuredContent.status, 'denied', 'denied run: status');
      equal(d.structuredContent.exit_code, null, 'denied run: exit_code');
      includes(d.structuredContent.message, 'not on a Friday (e2e)', 'denied run: the approver\'s message');
      check(!existsSync(marker), 'a denied command never ran');

      // the very request the human just denied is refused at once, with the human's message
      const repeated = await call('run_command',
        { environment: 'prod', command: ['touch', marker], variables: [], reason: 'e2e: a denied run', wait_seconds: 5 });
      equal(repeated.structuredContent.status, 'denied', 'the denied request asked again');
      includes(repeated.structuredContent.message, 'not on a Friday (e2e)', 'the human\'s message comes back');
      includes(repeated.structuredContent.message, 'denied this exact request', 'and why it was not asked again');

      // withdrawn by the agent while it waits
      const third = await call('run_command', { environment: 'prod', command: ['touch', `${marker}.withdrawn`],
        variables: [], reason: 'e2e: a withdrawn run', wait_seconds: 0 });
      const thirdNumber = third.structuredContent.run_number;
      const stopped = await call('stop_run', { run_id: third.structuredContent.run_id });
      check(!stopped.isError, 'stopped is not an error');
      equal(stopped.structuredContent.status, 'stopped', `stop_run of a pending run (message: ${stopped.structuredContent.message})`);
      includes(stopped.structuredContent.message, 'withdrawn', 'stop_run message');
      const list3 = await approver.expect({ type: 'pending_list' }, 'pending');
      check(!list3.runs.some((r) => r.run_id === thirdNumber), 'a withdrawn run leaves the queue');
      check(!existsSync(`${marker}.withdrawn`), 'a withdrawn command never ran');
    } finally {
      approver.close();
    }
  });

  // ---------------------------------------------------------------- 5. request_variable

  test('5. request_variable: pending, provided by the approver, then usable and masked', async () => {
    const args = { environment: 'dev', name: 'NEW_KEY', description: 'the new key' };
    const first = await call('request_variable', { ...args, wait_seconds: 2 });
    check(!first.isError, () => `request_variable: ${show(first.content)}`);
    equal(first.structuredContent.status, 'pending', 'request_variable: status');
    includes(first.structuredContent.message, 'call request_variable again', 'pending message');

    const { approver } = await connectApprover(s.home.socket, approverKey(s.home.home, s.home.passphraseFile));
    try {
      // asking again while it waits does not ask the human twice
      const quick = await call('request_variable', { ...args, wait_seconds: 0 });
      equal(quick.structuredContent.status, 'pending', 'request_variable again: pending');
      const list = await approver.expect({ type: 'pending_list' }, 'pending');
      const requests = list.variables.filter((v) => v.environment === 'dev' && v.name === 'NEW_KEY');
      equal(requests.length, 1, 'one request for dev/NEW_KEY in pending_list.variables');
      equal(requests[0].description, 'the new key', 'the request\'s description');
      includes(requests[0].claimed.name, 'brokerctl mcp', 'the request\'s claimed client');
      equal(requests[0].policy, 'auto', 'the request names the target environment\'s policy');

      const waiting = call('request_variable', { ...args, wait_seconds: 20 });
      approver.sendJson({ type: 'provide_variable', request_id: requests[0].request_id });
      approver.sendSecret(Buffer.from(NEW_KEY, 'utf8'));
      const ok = await approver.readMessage();
      equal(ok.type, 'ok', `provide_variable reply (${JSON.stringify(ok)})`);

      const provided = await waiting;
      equal(provided.structuredContent.status, 'provided', `request_variable after the value came (${provided.structuredContent.message})`);
      includes(provided.structuredContent.message, 'run_command', 'provided message says how to use it');
      const after = await approver.expect({ type: 'pending_list' }, 'pending');
      check(!after.variables.some((v) => v.name === 'NEW_KEY'), 'the answered request left the queue');
    } finally {
      approver.close();
    }

    const vars = await call('list_variables', { environment: 'dev' });
    const item = vars.structuredContent.variables.find((v) => v.name === 'NEW_KEY');
    check(item, 'list_variables shows NEW_KEY');
    equal(item.description, 'the new key', 'NEW_KEY description');

    const r = expectCompleted(await runDev(['printenv', 'NEW_KEY'], 'e2e: the new key', { variables: ['NEW_KEY'] }), 0,
      'printenv NEW_KEY');
    equal(r.stdout, '[MASKED:NEW_KEY]\n', 'printenv NEW_KEY stdout');
    check(r.masked_count >= 1, 'printenv NEW_KEY: masked_count >= 1');

    const exists = await call('request_variable', { ...args, wait_seconds: 10 });
    check(!exists.isError, () => `a variable that exists is an answer, not an error: ${show(exists)}`);
    equal(exists.structuredContent.status, 'exists', 'request_variable for a stored variable');
  });

  // Was a product bug: with wait_seconds 0 it said "pending", and only the next call "already exists".
  test('5b. request_variable for an existing variable with wait_seconds 0 answers exists at once', async () => {
    const r = await call('request_variable', { environment: 'dev', name: 'TOKEN', description: 'exists already',
      wait_seconds: 0 });
    check(!r.isError, () => `request_variable for an existing variable: ${show(r)}`);
    equal(r.structuredContent.status, 'exists', 'the first call says it exists');
    includes(r.structuredContent.message, 'variables: ["TOKEN"]', 'and how to use it');
    check(!/waiting for the human/.test(r.structuredContent.message), 'nobody is asked');
  });

  test('5c. a declined request_variable is not asked again unchanged', async () => {
    const { approver } = await connectApprover(s.home.socket, approverKey(s.home.home, s.home.passphraseFile));
    try {
      const args = { environment: 'dev', name: 'DECLINED_KEY', description: 'a key the human will not give' };
      const first = await call('request_variable', { ...args, wait_seconds: 0 });
      equal(first.structuredContent.status, 'pending', 'the first request waits for the human');
      const list = await approver.expect({ type: 'pending_list' }, 'pending');
      const q = list.variables.find((v) => v.name === 'DECLINED_KEY');
      check(q, 'the request is before the human');
      await approver.expect({ type: 'decline_variable', request_id: q.request_id, message: 'not today (e2e)' }, 'ok');
      const declined = await call('request_variable', { ...args, wait_seconds: 10 });
      equal(declined.structuredContent.status, 'declined', 'the human declined');
      const again = await call('request_variable', { ...args, wait_seconds: 0 });
      equal(again.structuredContent.status, 'declined', 'asking again unchanged is declined at once');
      includes(again.structuredContent.message, 'not asked again unchanged', 'and says why');
      includes(again.structuredContent.message, 'not today (e2e)', 'with the human\'s message');
      const after = await approver.expect({ type: 'pending_list' }, 'pending');
      check(!after.variables.some((v) => v.name === 'DECLINED_KEY'), 'the human was not asked again');
    } finally {
      approver.close();
    }
  });

  // ---------------------------------------------------------------- 6. bad input lines

  test('6. a line that is not JSON gets -32700, an oversized line -32600; the session continues', async () => {
    const mcp = new RawMcpProcess(LAUNCHER, ['mcp'], { env: s.home.mcpEnv, cwd: s.home.root });
    try {
      mcp.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {
        protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e-raw', version: '1' } } });
      const init = await mcp.response(1, 30_000);
      equal(init.result?.serverInfo?.name, 'brokerctl', 'initialize: serverInfo.name');
      mcp.send({ jsonrpc: '2.0', method: 'notifications/initialized' });

      mcp.writeLine('this is {not JSON');
      const parseError = await mcp.next('a parse error', (m) => 'error' in m);
      equal(parseError.id, null, '-32700: id');
      equal(parseError.error.code, -32700, 'parse error code');

      mcp.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      const list = await mcp.response(2);
      equal(list.result.tools.map((t) => t.name).sort(), [...TOOLS].sort(), 'tools/list after a parse error');

      // 2 MiB of valid JSON-RPC: refused for its length alone, never answered as a request
      const pad = 'x'.repeat(2 * 1024 * 1024);
      mcp.writeLine(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: { pad } }));
      const tooLong = await mcp.next('the oversized-line error', (m) => 'error' in m);
      equal(tooLong.id, null, 'oversized: id');
      equal(tooLong.error.code, -32600, 'oversized: code');
      includes(tooLong.error.message, 'limit', 'oversized: the message names the limit');

      mcp.send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'broker_status', arguments: {} } });
      const status = await mcp.response(4);
      equal(status.result?.structuredContent?.running, true, 'broker_status after an oversized line');

      // JSON that is not a JSON-RPC message: -32600 with its id
      mcp.writeLine(JSON.stringify({ jsonrpc: '2.0', id: 5 }));
      const invalid = await mcp.next('the invalid-request error', (m) => 'error' in m);
      equal([invalid.id, invalid.error.code], [5, -32600], 'a message without method or result');

      mcp.send({ jsonrpc: '2.0', id: 6, method: 'ping' });
      equal((await mcp.response(6)).result, {}, 'ping still answered');

      const exit = await mcp.end();
      equal(exit, { code: 0, signal: null }, 'brokerctl mcp exits 0 when stdin ends');
      check(mcp.partial === '', 'stdout ends with a complete line');
      check(mcp.notJson.length === 0, () => `stdout lines that are not JSON: ${mcp.notJson.length}: ${mcp.notJson.slice(0, 3).join(' | ')}`);
      for (const line of mcp.lines) {
        const m = JSON.parse(line);
        check(m && m.jsonrpc === '2.0' && typeof m === 'object', () => `a stdout line that is not JSON-RPC: ${line.slice(0, 200)}`);
        check(m.id !== 3, 'the oversized request was never answered');
      }
      equal(mcp.queue.length, 0, 'no unexpected messages');
    } finally {
      mcp.kill();
      s.rawStdout.push(mcp.lines.join('\n') + mcp.partial);
      s.rawStderr.push(mcp.stderr);
    }
  });

  test('6b. brokerctl mcp refuses to start with BROKERCTL_PASSPHRASE_FILE in its environment', async () => {
    const mcp = new RawMcpProcess(LAUNCHER, ['mcp'], { env: s.home.adminEnv, cwd: s.home.root });
    try {
      const exit = await mcp.end(30_000);
      equal(exit, { code: 2, signal: null }, 'exit code of a refused start');
      equal(mcp.lines.length + mcp.partial.length, 0, 'nothing on stdout');
      includes(mcp.stderr, 'refusing to start', 'stderr says it refuses');
      includes(mcp.stderr, 'BROKERCTL_PASSPHRASE_FILE', 'stderr names the variable');
    } finally {
      mcp.kill();
      s.rawStderr.push(mcp.stderr);
    }
  });

  // ---------------------------------------------------------------- 7. cancellation

  test('7. a client-side timeout or an abort of run_command stops waiting only; get_run finds the run, stop_run kills it', async () => {
    const started = join(s.home.root, 'cancel.started');
    const before = s.transport.transcript.length;
    // the SDK's own request timeout: it sends notifications/cancelled and rejects
    const timedOut = await s.client.callTool({ name: 'run_command', arguments: {
      environment: 'dev', command: ['sh', '-c', `echo started > '${started}'; exec sleep 300.201`], variables: [],
      reason: 'e2e: wait longer than the client', wait_seconds: 120 } }, undefined, { timeout: 1500 })
      .then(() => 'resolved', (e) => e);
    check(timedOut !== 'resolved', 'the call timed out on the client');
    const pid = await waitFor('the command to run', () => (existsSync(started) ? pidWithArg('300.201') : null));

    const sent = s.transport.transcript.slice(before).filter((m) => m.dir === 'sent').map((m) => JSON.parse(m.text));
    const request = sent.find((m) => m.method === 'tools/call' && m.params?.arguments?.reason === 'e2e: wait longer than the client');
    check(request, 'the run_command request was sent');
    s.cancelledIds.push(request.id);
    check(sent.some((m) => m.method === 'notifications/cancelled' && m.params?.requestId === request.id),
      'the client sent notifications/cancelled for it');

    // the run goes on: list_runs shows it, get_run finds it running
    const listed = await call('list_runs', { state: 'active' });
    const item = listed.structuredContent.runs.find((r) => r.reason === 'e2e: wait longer than the client');
    check(item, () => `list_runs shows the run: ${show(listed.structuredContent)}`);
    equal(item.status, 'running', 'the listed run is running');
    const running = await call('get_run', { run_id: item.run_id, wait_seconds: 1 });
    equal(running.structuredContent.status, 'running', 'the run still runs after the client gave up');
    check(!processGone(pid), `the command (pid ${pid}) still runs`);

    // an abort (the user pressed Esc) does not stop it either
    const ac = new AbortController();
    const waiting = s.client.callTool({ name: 'get_run', arguments: { run_id: item.run_id, wait_seconds: 120 } },
      undefined, { signal: ac.signal }).then(() => 'resolved', (e) => e);
    ac.abort('e2e cancels the call');
    check((await waiting) !== 'resolved', 'the aborted call rejects');
    const getRequest = s.transport.transcript.filter((m) => m.dir === 'sent').map((m) => JSON.parse(m.text))
      .filter((m) => m.method === 'tools/call' && m.params?.name === 'get_run').pop();
    s.cancelledIds.push(getRequest.id);
    equal((await call('get_run', { run_id: item.run_id, wait_seconds: 0 })).structuredContent.status, 'running',
      'still running after an aborted get_run');

    const stopped = await call('stop_run', { run_id: item.run_id });
    check(!stopped.isError, 'stopped is not an error');
    equal(stopped.structuredContent.status, 'stopped', `stop_run (message: ${stopped.structuredContent.message})`);
    equal(stopped.structuredContent.exit_code, 137, 'killed by SIGKILL');
    await waitFor(`the stopped command (pid ${pid}) to be killed`, () => processGone(pid), { timeoutMs: 20_000 });

    // stop_on_cancel: true kills on cancellation
    const started2 = join(s.home.root, 'cancel2.started');
    const ac2 = new AbortController();
    const killed = s.client.callTool({ name: 'run_command', arguments: {
      environment: 'dev', command: ['sh', '-c', `echo started > '${started2}'; exec sleep 300.202`], variables: [],
      reason: 'e2e: stop on cancel', wait_seconds: 120, stop_on_cancel: true } }, undefined, { signal: ac2.signal })
      .then(() => 'resolved', (e) => e);
    const pid2 = await waitFor('the second command to run', () => (existsSync(started2) ? pidWithArg('300.202') : null));
    ac2.abort('e2e cancels with stop_on_cancel');
    check((await killed) !== 'resolved', 'the cancelled call rejects');
    s.cancelledIds.push(s.transport.transcript.filter((m) => m.dir === 'sent').map((m) => JSON.parse(m.text))
      .find((m) => m.method === 'tools/call' && m.params?.arguments?.reason === 'e2e: stop on cancel').id);
    await waitFor(`the command (pid ${pid2}) to be killed on cancellation`, () => processGone(pid2), { timeoutMs: 20_000 });

    const status = await call('broker_status', {});
    equal(status.structuredContent.pending_approvals, 0, 'nothing waits after the cancellations');
  });

  // ---------------------------------------------------------------- 8. runs belong to the daemon

  test('8. a run started in one session is read to completion from another after the first closed', async () => {
    const first = await newSession('e2e-first');
    const r = await call('run_command', { environment: 'dev', command: ['sh', '-c', 'sleep 2; printenv TOKEN; echo done'],
      variables: ['TOKEN'], reason: 'e2e: outlives its session', wait_seconds: 0 }, undefined, first.client);
    const started = r.structuredContent;
    check(!r.isError && ['pending_approval', 'running'].includes(started.status),
      () => `the run is under way when the call returns: ${show(started)}`);
    matches(started.run_id, HANDLE, 'the handle');
    await closeSession(first);

    const second = await newSession('e2e-second');
    const done = await call('get_run', { run_id: started.run_id, wait_seconds: 30 }, undefined, second.client);
    const sc = expectCompleted(done, 0, 'the run read from the second session');
    equal(sc.stdout, `${MASKED_TOKEN}\ndone\n`, 'its masked output');
    equal(sc.run_number, started.run_number, 'the same run');
    await closeSession(second);

    // the end of stdin answers a call still waiting (it used to be dropped): the run goes on
    const mcp = new RawMcpProcess(LAUNCHER, ['mcp'], { env: s.home.mcpEnv, cwd: s.home.root });
    try {
      mcp.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {
        protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e-eof', version: '1' } } });
      await mcp.response(1, 30_000);
      mcp.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      mcp.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'run_command', arguments: {
        environment: 'dev', command: ['sleep', '3.0101'], variables: [], reason: 'e2e: stdin ends while I wait', wait_seconds: 60 } } });
      await waitFor('the command to run', () => pidWithArg('3.0101'));
      const exit = await mcp.end();
      equal(exit, { code: 0, signal: null }, 'brokerctl mcp exits 0 after stdin ended');
      const answer = mcp.queue.find((m) => m.id === 2);
      check(answer?.result?.structuredContent, () => `the waiting call was answered before the exit: ${show(mcp.lines)}`);
      check(['pending_approval', 'running', 'completed'].includes(answer.result.structuredContent.status),
        () => `its state: ${show(answer.result.structuredContent)}`);
      const after = await call('get_run', { run_id: answer.result.structuredContent.run_id, wait_seconds: 30 });
      expectCompleted(after, 0, 'the run went on in the daemon');
    } finally {
      mcp.kill();
      s.rawStdout.push(mcp.lines.join('\n') + mcp.partial);
      s.rawStderr.push(mcp.stderr);
    }
  });

  // ---------------------------------------------------------------- 9. paged output

  test('9. paging returns each byte of a 5 MB output once; the first look is head and tail', async () => {
    const n = 750_000;
    const expected = Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');
    const r = await runDev(['seq', '1', String(n)], 'e2e: 5 MB of output', { variables: [], wait_seconds: 60 });
    const sc = expectCompleted(r, 0, 'seq');
    equal(sc.stdout_total_bytes, expected.length, 'stdout_total_bytes');
    check(sc.stdout_total_bytes > 5_000_000, 'more than 5 MB');
    check(sc.stdout_truncated, 'a first look at 5 MB is cut');
    check(sc.stdout.length < 8_300, () => `the first look holds about 8,000 characters, not ${sc.stdout.length}`);
    check(sc.stdout.startsWith('1\n2\n3\n') && sc.stdout.endsWith(`${n - 1}\n${n}\n`), 'head and tail');
    includes(sc.message, 'stdout_offset', 'the message says how to read on');
    check(r.content[0].text.length < 1_500, () => `the text block is a summary (${r.content[0].text.length} chars)`);

    let offset = 0;
    let text = '';
    let polls = 0;
    while (offset < sc.stdout_total_bytes) {
      const page = (await call('get_run', { run_id: sc.run_id, wait_seconds: 0, stdout_offset: offset,
        stderr_offset: 0, max_output_chars: 65_536 })).structuredContent;
      equal(page.stdout_offset, offset, `page ${polls} starts where the last one ended`);
      check(page.stdout.length <= 65_536, 'a page holds at most max_output_chars');
      text += page.stdout;
      check(page.stdout_next_offset > offset, 'each page moves on');
      offset = page.stdout_next_offset;
      polls++;
    }
    check(text.length === expected.length && text === expected, () => `the pages put together are the output`
      + ` (${text.length} vs ${expected.length} characters)`);
    check(polls >= 78 && polls <= 80, () => `${polls} pages of 64 KiB`);
    const nothingNew = (await call('get_run', { run_id: sc.run_id, wait_seconds: 0, stdout_offset: offset })).structuredContent;
    equal([nothingNew.stdout, nothingNew.stdout_truncated], ['', false], 'nothing new after the last page');
  });

  // ---------------------------------------------------------------- 10. least privilege, hints

  test('10. variables is required, "*" always asks a human, a $VAR in argv gets a hint', async () => {
    const noVars = await call('run_command', { environment: 'dev', command: ['true'], reason: 'e2e: no variables' });
    check(noVars.isError, 'run_command without variables is refused');
    equal(noVars.structuredContent.status, 'error', 'its status');
    includes(noVars.content[0].text, 'list_variables', 'the message names list_variables');

    const hinted = expectCompleted(await runDev(['echo', 'Bearer $TOKEN'], 'e2e: a literal $TOKEN',
      { variables: ['TOKEN'] }), 0, 'echo $TOKEN');
    equal(hinted.stdout, 'Bearer $TOKEN\n', 'no shell expanded it');
    includes(hinted.hint, 'no shell', 'the hint says why');
    includes(hinted.hint, '["sh", "-c", "echo \\"Bearer $TOKEN\\""]', 'and shows the sh -c form');
    const viaShell = expectCompleted(await runDev(['sh', '-c', 'echo "Bearer $TOKEN"'], 'e2e: through a shell',
      { variables: ['TOKEN'] }), 0, 'sh -c');
    equal(viaShell.stdout, `Bearer ${MASKED_TOKEN}\n`, 'the shell expanded it, masked');
    check(!('hint' in viaShell), 'no hint with a shell');

    const all = await runDev(['true'], 'e2e: all of dev', { variables: ['*'], wait_seconds: 1 });
    check(!all.isError, 'waiting is not an error');
    equal(all.structuredContent.status, 'pending_approval', 'all variables wait for a human even in an auto environment');
    const stopped = await call('stop_run', { run_id: all.structuredContent.run_id });
    equal(stopped.structuredContent.status, 'stopped', 'withdrawn');
  });

  // ---------------------------------------------------------------- 11. command timeout

  test('11. a command past its timeout is timed_out (not an error), with the kill\'s exit code', async () => {
    const r = await runDev(['sleep', '30'], 'e2e: too slow', { variables: [], timeout_seconds: 1, wait_seconds: 30 });
    check(!r.isError, 'timed_out is not an error');
    equal(r.structuredContent.status, 'timed_out', `status (message: ${r.structuredContent.message})`);
    equal(r.structuredContent.exit_code, 137, 'exit_code');
    includes(r.structuredContent.message, 'timeout', 'message');
  });

  // ---------------------------------------------------------------- 12. the daemon stops

  test('12. the daemon stopping mid-run: daemon_stopped over MCP, exit 123 in a shell; after a restart, ids go on', async () => {
    const r = (await runDev(['sh', '-c', 'exec sleep 300.303'], 'e2e: the daemon stops under me',
      { variables: [], wait_seconds: 0 })).structuredContent;
    const pid = await waitFor('the MCP run to start', () => pidWithArg('300.303'));
    const waiting = call('get_run', { run_id: r.run_id, wait_seconds: 60 });
    const shell = s.home.run(['run', '--env', 'dev', '--', 'sleep', '300.304'], { env: s.home.mcpEnv });
    await waitFor('the shell\'s run to start', () => pidWithArg('300.304'));

    await s.home.ok(['stop']);
    const w = await waiting;
    check(!w.isError, 'daemon_stopped is an outcome, not an error');
    equal(w.structuredContent.status, 'daemon_stopped', `status (message: ${w.structuredContent.message})`);
    includes(w.structuredContent.message, 'brokerctl stop', 'the message says what happened');
    const cli = await shell;
    equal(cli.code, 123, `brokerctl run's exit code when the daemon stops (stderr: ${cli.stderr})`);
    includes(cli.stderr, 'the daemon stopped (brokerctl stop) while the command ran; it was killed', 'what it says');
    await waitFor(`the killed command (pid ${pid}) to be gone`, () => processGone(pid));
    await waitFor(`the daemon (pid ${s.daemonPid}) to exit`, () => processGone(s.daemonPid));

    const down = await call('get_run', { run_id: r.run_id, wait_seconds: 0 });
    check(down.isError, 'no daemon: the call cannot be carried out');
    equal(down.structuredContent.status, 'error', 'status with no daemon');
    includes(down.content[0].text, 'brokerctl daemon', 'says how to start it');

    const daemon = await s.home.ok(['daemon', '--detach', '--approval-timeout', '3s']);
    s.daemonPid = Number(/brokerctl daemon (\d+) ready/.exec(daemon.stdout)[1]);
    const forgotten = await call('get_run', { run_id: r.run_id, wait_seconds: 0 });
    check(forgotten.isError, 'a run of the daemon before is unknown');
    includes(forgotten.content[0].text, 'restart', 'and the message says why');

    const late = await call('run_command', { environment: 'prod', command: ['true'], variables: [],
      reason: 'e2e: nobody approves this', wait_seconds: 20 });
    check(!late.isError, 'approval_timed_out is not an error');
    equal(late.structuredContent.status, 'approval_timed_out', `status (message: ${late.structuredContent.message})`);
    equal(late.structuredContent.exit_code, null, 'it never ran');
    check(late.structuredContent.run_number > r.run_number,
      () => `run ids go on across a restart: ${r.run_number} then ${late.structuredContent.run_number}`);
  });

  // ---------------------------------------------------------------- 13. no value anywhere

  test('13. no value in the client transcript, the server\'s stderr or the daemon\'s log, in any masked form', async () => {
    const t = s.transport;
    const received = t.transcript.filter((m) => m.dir === 'received');
    const sent = t.transcript.filter((m) => m.dir === 'sent');
    check(sent.length >= 20 && received.length >= 20, () => `a transcript of the whole suite (${sent.length} sent, ${received.length} received)`);
    // the raw record holds every message the SDK handed to the client (stdout is JSON-RPC only)
    equal(received.length, t.receivedCount, 'raw lines recorded vs messages the client received');
    for (const m of received) {
      let parsed;
      try {
        parsed = JSON.parse(m.text);
      } catch {
        throw new Error(`a stdout line of brokerctl mcp is not JSON: ${m.text.slice(0, 200)}`);
      }
      check(parsed.jsonrpc === '2.0', 'every received line is JSON-RPC 2.0');
      check(!('id' in parsed && s.cancelledIds.includes(parsed.id) && ('result' in parsed || 'error' in parsed)),
        'a cancelled request got no response');
    }
    check(t.errors.length === 0, () => `errors the client reported: ${t.errors.map((e) => e.message).join('; ')}`);

    noSecretIn(t.transcriptText, 'the MCP client transcript');
    noSecretIn(t.serverStderr, 'the stderr of brokerctl mcp');
    check(s.moreTransports.length >= 2, 'the other sessions were recorded');
    for (const [i, more] of s.moreTransports.entries()) {
      check(more.transcript.length > 0, `session ${i + 2} has a transcript`);
      noSecretIn(more.transcriptText, `the MCP transcript of session ${i + 2}`);
      noSecretIn(more.serverStderr, `the stderr of brokerctl mcp in session ${i + 2}`);
    }
    check(t.serverStderr.includes('serving MCP on stdio'), 'the server\'s stderr was recorded');
    noSecretIn(s.rawStdout.join('\n'), 'the stdout of the raw brokerctl mcp session');
    noSecretIn(s.rawStderr.join('\n'), 'the stderr of the raw brokerctl mcp session');
    noSecretIn(s.home.cliTranscript.join('\n'), 'the output of the setup commands');
    noSecretIn(await s.home.daemonLog(), 'the daemon\'s log');
  });
});

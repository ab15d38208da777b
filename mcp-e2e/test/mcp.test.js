// End-to-end: the official MCP TypeScript SDK client drives `brokerctl mcp` (the real launcher and
// jar) against a real daemon in a temporary home; an approver console is played over the daemon's
// socket. At the end, nothing the client saw or the server logged holds a value in any form the
// masker covers. Tests run in order and share one daemon and one MCP session.
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
  'request_variable'];
const READ_ONLY = ['broker_status', 'list_environments', 'list_variables', 'get_run'];
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
  /** JSON-RPC id of the run_command call test 7 cancelled. */
  cancelledId: null,
};

/** A tool call through the SDK client (which also validates structuredContent against the outputSchema). */
async function call(name, args, options) {
  const r = await s.client.callTool({ name, arguments: args }, undefined, options);
  check(Array.isArray(r.content) && r.content.length >= 1 && r.content[0].type === 'text',
    () => `${name}: expected a text content block, got ${show(r.content)}`);
  if (!r.isError) {
    // the text block carries the same result as JSON, for clients that ignore structuredContent
    equal(JSON.parse(r.content[0].text), r.structuredContent, `${name}: text content vs structuredContent`);
  }
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
  return call('run_command', { environment: 'dev', command, reason, ...extra });
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

  test('1. tools/list: the seven tools, each with description, schemas and annotations', async () => {
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
    equal([...byName.run_command.inputSchema.required].sort(), ['command', 'environment', 'reason'],
      'run_command: required');
    if (ajv) {
      check(ajv.warnings.length === 0, () => `Ajv warnings: ${ajv.warnings.join('; ')}`);
      // the input schemas say what a call may carry
      const input = ajv.draft2020.compile(byName.run_command.inputSchema);
      check(input({ environment: 'dev', command: ['true'], reason: 'r' }), 'a valid run_command call passes');
      check(!input({ environment: 'dev', command: ['true'] }), 'run_command without reason fails');
      check(!input({ environment: 'Dev!', command: ['true'], reason: 'r' }), 'a bad environment name fails');
      check(!input({ environment: 'dev', command: [], reason: 'r' }), 'an empty command fails');
      check(!input({ environment: 'dev', command: ['true'], reason: 'r', extra: 1 }), 'an unknown argument fails');
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
    check(Number.isInteger(printenv.run_id), () => `run_id is the daemon's number: ${show(printenv.run_id)}`);

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
    check(missing.isError === true, 'a missing command is an isError result');
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
        { environment: 'prod', command, reason: 'e2e: an approved run', wait_seconds: 2 });
      const p = pending.structuredContent;
      equal(p.status, 'pending', `prod run: status (message: ${p.message})`);
      check(Number.isInteger(p.run_id), () => `prod run: run_id ${show(p.run_id)}`);
      includes(p.message, 'get_run', 'pending message says how to keep waiting');
      equal(p.exit_code, null, 'pending: exit_code');

      const list = await approver.expect({ type: 'pending_list' }, 'pending');
      const run = list.runs.find((r) => r.run_id === p.run_id);
      check(run, () => `run ${p.run_id} in pending_list: ${show(list.runs)}`);
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
      const noCode = await approver.call({ type: 'decide', run_id: p.run_id, decision: 'approve', request_hash: run.request_hash });
      equal([noCode.type, noCode.code], ['error', 'invalid'], 'approve without the code');
      const otherHash = await approver.call({ type: 'decide', run_id: p.run_id, decision: 'approve',
        request_hash: '0'.repeat(64), code: run.code });
      equal([otherHash.type, otherHash.code], ['error', 'invalid'], 'approve with another request hash');
      equal((await call('get_run', { run_id: p.run_id, wait_seconds: 0 })).structuredContent.status, 'pending',
        'still pending after refused decisions');

      await approver.expect({ type: 'decide', run_id: p.run_id, decision: 'approve', request_hash: run.request_hash,
        code: run.code }, 'ok');
      const again = await approver.call({ type: 'decide', run_id: p.run_id, decision: 'approve',
        request_hash: run.request_hash, code: run.code });
      equal([again.type, again.code], ['error', 'not_found'], 'a decision is used once');

      const done = expectCompleted(await call('get_run', { run_id: p.run_id, wait_seconds: 20 }), 0, 'approved run');
      equal(done.stdout, `${MASKED_TOKEN}\n${sha256(TOKEN_PROD)}  -\n`, 'approved run stdout (prod\'s value injected)');
      check(done.masked_count >= 1, 'approved run: masked_count >= 1');
      equal(done.run_id, p.run_id, 'get_run: same run_id');

      // denied, with a message the agent gets
      const marker = join(s.home.root, 'denied-ran');
      const denied = await call('run_command',
        { environment: 'prod', command: ['touch', marker], reason: 'e2e: a denied run', wait_seconds: 2 });
      equal(denied.structuredContent.status, 'pending', 'second prod run: pending');
      const list2 = await approver.expect({ type: 'pending_list' }, 'pending');
      const run2 = list2.runs.find((r) => r.run_id === denied.structuredContent.run_id);
      check(run2, 'the second run is in pending_list');
      await approver.expect({ type: 'decide', run_id: run2.run_id, decision: 'deny', message: 'not on a Friday (e2e)' }, 'ok');
      const d = await call('get_run', { run_id: run2.run_id, wait_seconds: 20 });
      check(!d.isError, 'a denied run is a result, not an error');
      equal(d.structuredContent.status, 'denied', 'denied run: status');
      equal(d.structuredContent.exit_code, null, 'denied run: exit_code');
      includes(d.structuredContent.message, 'not on a Friday (e2e)', 'denied run: the approver\'s message');
      check(!existsSync(marker), 'a denied command never ran');

      // the very request the human just denied is refused at once, with the human's message
      const repeated = await call('run_command',
        { environment: 'prod', command: ['touch', marker], reason: 'e2e: a denied run', wait_seconds: 5 });
      equal(repeated.structuredContent.status, 'denied', 'the denied request asked again');
      includes(repeated.structuredContent.message, 'not on a Friday (e2e)', 'the human\'s message comes back');
      includes(repeated.structuredContent.message, 'denied this exact request', 'and why it was not asked again');

      // withdrawn by the agent while it waits
      const third = await call('run_command',
        { environment: 'prod', command: ['touch', `${marker}.withdrawn`], reason: 'e2e: a withdrawn run', wait_seconds: 0 });
      const thirdId = await waitFor('the third run to get the daemon\'s id', async () => {
        const v = (await call('get_run', { run_id: third.structuredContent.run_id, wait_seconds: 0 })).structuredContent;
        return Number.isInteger(v.run_id) ? v.run_id : null;
      });
      const stopped = await call('stop_run', { run_id: thirdId });
      equal(stopped.structuredContent.status, 'denied', `stop_run of a pending run (message: ${stopped.structuredContent.message})`);
      includes(stopped.structuredContent.message, 'withdrawn', 'stop_run message');
      const list3 = await approver.expect({ type: 'pending_list' }, 'pending');
      check(!list3.runs.some((r) => r.run_id === thirdId), 'a withdrawn run leaves the queue');
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

    const r = expectCompleted(await runDev(['printenv', 'NEW_KEY'], 'e2e: the new key'), 0, 'printenv NEW_KEY');
    equal(r.stdout, '[MASKED:NEW_KEY]\n', 'printenv NEW_KEY stdout');
    check(r.masked_count >= 1, 'printenv NEW_KEY: masked_count >= 1');

    const exists = await call('request_variable', { ...args, wait_seconds: 10 });
    check(exists.isError, () => `asking for a variable that exists is an isError result: ${show(exists)}`);
    includes(exists.content[0].text, 'already exists', 'the error says it exists');
  });

  // Was a product bug (the message claimed the human was asked before the daemon answered).
  test('5b. request_variable with wait_seconds 0 does not claim the human is asked before the daemon answered', async () => {
    const r = await call('request_variable', { environment: 'dev', name: 'TOKEN', description: 'exists already',
      wait_seconds: 0 });
    // the follow-up call gets the daemon's real answer: TOKEN exists, nobody is asked
    const followUp = await call('request_variable', { environment: 'dev', name: 'TOKEN', description: 'exists already',
      wait_seconds: 10 });
    check(followUp.isError, () => `request_variable for an existing variable: ${show(followUp)}`);
    includes(followUp.content[0].text, 'already exists', 'the follow-up says the variable exists');
    const claimsHumanAsked = !r.isError && /waiting for the human/.test(r.structuredContent.message);
    check(!claimsHumanAsked, () => `an unacknowledged request reported as asking the human: ${show(r.structuredContent)}`);
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

  test('7. cancelling a run_command call kills the command', async () => {
    const pidFile = join(s.home.root, 'cancel.pid');
    const ac = new AbortController();
    const pending = s.client.callTool({ name: 'run_command', arguments: {
      environment: 'dev', command: ['sh', '-c', `echo started > '${pidFile}'; exec sleep 300.201`], reason: 'e2e: cancel me',
      wait_seconds: 120 } }, undefined, { signal: ac.signal, timeout: 180_000 });
    const outcome = pending.then(() => 'resolved', (e) => e);

    const pid = await waitFor('the command to write its pid', async () => {
      try {
        // the command runs in a PID namespace of its own ($$ there is not the host's pid): it is
        // found by its own argument once it has said it started
        if ((await readFile(pidFile, 'utf8')) !== 'started\n') {
          return null;
        }
        const found = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
          try {
            return readFileSync(`/proc/${d}/cmdline`, 'latin1').split('\0').includes('300.201');
          } catch {
            return false;
          }
        });
        return found.length === 1 ? Number(found[0]) : null;
      } catch (e) {
        if (e.code === 'ENOENT') {
          return null;
        }
        throw e;
      }
    });
    check(!processGone(pid), `the command (pid ${pid}) runs before the cancellation`);

    ac.abort('e2e cancels the call');
    const result = await outcome;
    check(result !== 'resolved', 'the cancelled call rejects');

    const sent = s.transport.transcript.filter((m) => m.dir === 'sent').map((m) => JSON.parse(m.text));
    const request = sent.find((m) => m.method === 'tools/call' && m.params?.arguments?.reason === 'e2e: cancel me');
    check(request, 'the run_command request was sent');
    s.cancelledId = request.id;
    check(sent.some((m) => m.method === 'notifications/cancelled' && m.params?.requestId === request.id),
      'the client sent notifications/cancelled for it');

    await waitFor(`the cancelled command (pid ${pid}) to be killed`, () => processGone(pid), {
      timeoutMs: 20_000,
      describe: () => {
        try {
          return `/proc/${pid}/stat: ${readFileSync(`/proc/${pid}/stat`, 'utf8').trim()}`;
        } catch {
          return 'gone';
        }
      },
    });

    const status = await call('broker_status', {});
    equal(status.structuredContent.pending_approvals, 0, 'nothing waits after the cancellation');
  });

  // ---------------------------------------------------------------- 8. no value anywhere

  test('8. no value in the client transcript, the server\'s stderr or the daemon\'s log, in any masked form', async () => {
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
      check(s.cancelledId === null || !('id' in parsed && parsed.id === s.cancelledId && ('result' in parsed || 'error' in parsed)),
        'the cancelled request got no response');
    }
    check(t.errors.length === 0, () => `errors the client reported: ${t.errors.map((e) => e.message).join('; ')}`);

    noSecretIn(t.transcriptText, 'the MCP client transcript');
    noSecretIn(t.serverStderr, 'the stderr of brokerctl mcp');
    check(t.serverStderr.includes('serving MCP on stdio'), 'the server\'s stderr was recorded');
    noSecretIn(s.rawStdout.join('\n'), 'the stdout of the raw brokerctl mcp session');
    noSecretIn(s.rawStderr.join('\n'), 'the stderr of the raw brokerctl mcp session');
    noSecretIn(s.home.cliTranscript.join('\n'), 'the output of the setup commands');
    noSecretIn(await s.home.daemonLog(), 'the daemon\'s log');
  });
});

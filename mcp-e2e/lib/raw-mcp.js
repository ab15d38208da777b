// `brokerctl mcp` spawned directly, spoken to in raw lines: for what an SDK client never sends
// (lines that are not JSON, oversized lines).
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { CheckError } from './check.js';
import { redact } from './canaries.js';

export class RawMcpProcess {
  constructor(command, args, { env, cwd }) {
    this.child = spawn(command, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    /** Every stdout line as text, in order. */
    this.lines = [];
    /** Lines that were not valid JSON (stdout must be JSON-RPC only). */
    this.notJson = [];
    /** Parsed messages not yet taken by next(). */
    this.queue = [];
    this.stderrChunks = [];
    this.partial = '';
    this.waiters = [];
    this.exited = null;
    const decoder = new StringDecoder('utf8');
    this.child.stdout.on('data', (c) => this.onStdout(decoder.write(c)));
    this.child.stderr.on('data', (c) => this.stderrChunks.push(c));
    this.child.stdin.on('error', () => { /* the server may be gone: next() reports it */ });
    this.exitPromise = new Promise((resolve) => {
      // 'close', not 'exit': stdout may still hold the last lines when the process has exited
      this.child.on('close', (code, signal) => {
        this.exited = { code, signal };
        this.wake();
        resolve(this.exited);
      });
    });
  }

  onStdout(text) {
    this.partial += text;
    let nl;
    while ((nl = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      this.lines.push(line);
      try {
        this.queue.push(JSON.parse(line));
      } catch {
        this.notJson.push(line);
      }
    }
    this.wake();
  }

  wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  /** Writes one line (a newline is added). */
  writeLine(text) {
    this.child.stdin.write(text + '\n');
  }

  send(message) {
    this.writeLine(JSON.stringify(message));
  }

  /** The next message that `accept` takes; earlier ones that it does not are kept in `skipped`. */
  async next(what, accept = () => true, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.queue.findIndex(accept);
      if (i >= 0) {
        return this.queue.splice(i, 1)[0];
      }
      if (this.exited) {
        throw new CheckError(`brokerctl mcp exited (${JSON.stringify(this.exited)}) before ${what}; stderr: ${redact(this.stderr)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new CheckError(`no ${what} within ${timeoutMs} ms; stdout so far: ${redact(this.lines.join('\n'))}`);
      }
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The response to request `id`. */
  response(id, timeoutMs) {
    return this.next(`the response to request ${JSON.stringify(id)}`, (m) => m.id === id && ('result' in m || 'error' in m), timeoutMs);
  }

  get stderr() {
    return Buffer.concat(this.stderrChunks).toString('utf8');
  }

  /** Closes stdin (the end of the session) and waits for the exit. */
  async end(timeoutMs = 20_000) {
    this.child.stdin.end();
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    const exit = await Promise.race([this.exitPromise, timeout]);
    clearTimeout(timer);
    if (exit === null) {
      this.child.kill('SIGKILL');
      throw new CheckError(`brokerctl mcp did not exit within ${timeoutMs} ms after its stdin closed`);
    }
    return exit;
  }

  kill() {
    if (!this.exited) {
      this.child.kill('SIGKILL');
    }
  }
}

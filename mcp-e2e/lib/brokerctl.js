// The real launcher (bin/brokerctl, which finds cli/target/brokerctl.jar) in a temporary home.
import { spawn } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckError } from './check.js';
import { redact } from './canaries.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LAUNCHER = join(REPO, 'bin', 'brokerctl');
export const JAR = join(REPO, 'cli', 'target', 'brokerctl.jar');

/** How long one CLI command may take (a JVM start, at most one Argon2id run). */
const CLI_TIMEOUT_MS = 60_000;

/**
 * A temporary root (0700) holding the home, the passphrase file and scratch files. The MCP
 * server's environment (`mcpEnv`) has no BROKERCTL_PASSPHRASE_FILE; only `adminEnv`, used for the
 * setup commands and `stop`, has it.
 */
export class BrokerHome {
  static async create(passphrase) {
    if (!existsSync(JAR)) {
      throw new Error(`${JAR} is missing; build it first: cd ${REPO} && mvn -q -o install -DskipTests -DskipITs -pl cli`);
    }
    const root = await mkdtemp(join(tmpdir(), 'brokerctl-e2e-'));
    await chmod(root, 0o700);
    const home = join(root, 'home');
    await mkdir(home, { mode: 0o700 });
    await chmod(home, 0o700);
    const passphraseFile = join(root, 'passphrase');
    await writeFile(passphraseFile, passphrase + '\n', { mode: 0o600 });
    return new BrokerHome(root, home, passphraseFile);
  }

  constructor(root, home, passphraseFile) {
    this.root = root;
    this.home = home;
    this.passphraseFile = passphraseFile;
    /** Everything the CLI printed, for the leak check. */
    this.cliTranscript = [];
    const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', BROKERCTL_HOME: home };
    if (process.env.JAVA_HOME) {
      base.JAVA_HOME = process.env.JAVA_HOME;
    }
    if (process.env.HOME) {
      base.HOME = process.env.HOME;
    }
    this.mcpEnv = Object.freeze({ ...base });
    this.adminEnv = Object.freeze({ ...base, BROKERCTL_PASSPHRASE_FILE: passphraseFile });
  }

  /** No BROKERCTL_SOCKET and no XDG_RUNTIME_DIR in the environments: the socket is in the home. */
  get socket() {
    return join(this.home, 'run', 'brokerd.sock');
  }

  socketExists() {
    try {
      return lstatSync(this.socket).isSocket();
    } catch (e) {
      if (e.code === 'ENOENT') {
        return false;
      }
      throw e;
    }
  }

  /** Runs `brokerctl args...` with the admin environment (or `env`), `input` on stdin. */
  run(args, { input, env = this.adminEnv } = {}) {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(LAUNCHER, args, { env, cwd: this.root, stdio: ['pipe', 'pipe', 'pipe'] });
      const out = [];
      const err = [];
      child.stdout.on('data', (c) => out.push(c));
      child.stderr.on('data', (c) => err.push(c));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new CheckError(`brokerctl ${args.join(' ')} did not exit within ${CLI_TIMEOUT_MS} ms`));
      }, CLI_TIMEOUT_MS);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      // 'close': the process exited and its stdout/stderr ended (a detached daemon keeps neither open)
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const result = {
          code,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        };
        this.cliTranscript.push(result.stdout, result.stderr);
        resolvePromise(result);
      });
      child.stdin.on('error', () => { /* the command may exit before reading stdin */ });
      child.stdin.end(input ?? '');
    });
  }

  /** Like run, but fails unless the exit code is 0. */
  async ok(args, options) {
    const r = await this.run(args, options);
    if (r.code !== 0) {
      throw new CheckError(`brokerctl ${args.join(' ')} exited ${r.code ?? r.signal}: ${redact(r.stdout + r.stderr)}`);
    }
    return r;
  }

  async daemonLog() {
    const parts = [];
    for (const name of ['brokerd.log', 'brokerd.stderr']) {
      try {
        parts.push(await readFile(join(this.home, name), 'latin1'));
      } catch (e) {
        if (e.code !== 'ENOENT') {
          throw e;
        }
      }
    }
    return parts.join('\n');
  }

  async remove() {
    await rm(this.root, { recursive: true, force: true });
  }
}

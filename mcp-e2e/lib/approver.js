// A human's approval console, reduced to the daemon's framed protocol over its Unix socket:
//   u32 big-endian length (of kind byte + payload) | u8 kind | payload
// kind 'J' = one JSON object, 'S' = secret bytes (a passphrase, a value the human types).
import net from 'node:net';
import { CheckError } from './check.js';

export const KIND_JSON = 0x4a; // 'J'
export const KIND_SECRET = 0x53; // 'S'
const MAX_FRAME = 1024 * 1024;

export function frame(kind, payload) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const header = Buffer.alloc(5);
  header.writeUInt32BE(body.length + 1, 0);
  header[4] = kind;
  return Buffer.concat([header, body]);
}

export class FramedConnection {
  /** Connects to the daemon's socket; resolves once connected. */
  static connect(path, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new CheckError(`no connection to ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve(new FramedConnection(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.frames = [];
    this.waiters = [];
    this.ended = false;
    this.error = null;
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('end', () => this.finish(null));
    socket.on('close', () => this.finish(null));
    socket.on('error', (e) => this.finish(e));
  }

  onData(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (length < 1 || length > MAX_FRAME) {
        this.finish(new CheckError(`the daemon sent a frame of ${length} bytes`));
        this.socket.destroy();
        return;
      }
      if (this.buffer.length < 4 + length) {
        return;
      }
      const kind = this.buffer[4];
      const payload = this.buffer.subarray(5, 4 + length);
      this.buffer = this.buffer.subarray(4 + length);
      this.frames.push({ kind, payload: Buffer.from(payload) });
    }
    this.wake();
  }

  finish(error) {
    if (!this.ended) {
      this.ended = true;
      this.error = error;
    }
    this.wake();
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  /** The next frame; rejects at the end of the stream or after `timeoutMs`. */
  async readFrame(timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.frames.length > 0) {
        return this.frames.shift();
      }
      if (this.ended) {
        throw new CheckError(`the daemon closed the connection${this.error ? ` (${this.error.message})` : ''}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new CheckError(`no frame from the daemon within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next frame as a JSON message (a frame of another kind fails). */
  async readMessage(timeoutMs) {
    const f = await this.readFrame(timeoutMs);
    if (f.kind !== KIND_JSON) {
      throw new CheckError(`expected a JSON frame from the daemon, got kind 0x${f.kind.toString(16)} (${f.payload.length} bytes)`);
    }
    return JSON.parse(f.payload.toString('utf8'));
  }

  sendJson(message) {
    this.socket.write(frame(KIND_JSON, JSON.stringify(message)));
  }

  sendSecret(bytes) {
    this.socket.write(frame(KIND_SECRET, bytes));
  }

  /** Sends `message` (and a SECRET frame right after it, when `secret` is given); returns the reply. */
  async call(message, secret) {
    if (secret !== undefined) {
      // one write: the daemon reads the secret frame right after the message
      this.socket.write(Buffer.concat([frame(KIND_JSON, JSON.stringify(message)), frame(KIND_SECRET, secret)]));
    } else {
      this.sendJson(message);
    }
    return this.readMessage();
  }

  /** Like call, but an `error` reply fails with its code and message. */
  async expect(message, type, secret) {
    const reply = await this.call(message, secret);
    if (reply.type !== type) {
      throw new CheckError(`${message.type}: expected '${type}', got ${JSON.stringify(reply)}`);
    }
    return reply;
  }

  close() {
    this.socket.end();
    this.socket.destroy();
  }
}

/**
 * An approver: hello, then authenticate with the passphrase in a SECRET frame. Returns the open
 * connection and the daemon's hello.
 */
export async function connectApprover(path, passphrase) {
  const c = await FramedConnection.connect(path);
  const hello = await c.expect({ type: 'hello', protocol: 2, client: { name: 'e2e-approver' }, pid: process.pid }, 'hello');
  c.sendJson({ type: 'authenticate' });
  c.sendSecret(Buffer.from(passphrase, 'utf8'));
  const ok = await c.readMessage();
  if (ok.type !== 'ok' || ok.approver !== true) {
    c.close();
    throw new CheckError(`authenticate: expected ok {approver: true}, got ${JSON.stringify(ok)}`);
  }
  return { approver: c, hello };
}

// A human's approval console, reduced to the daemon's framed protocol over its Unix socket:
//   u32 big-endian length (of kind byte + payload) | u8 kind | payload
// kind 'J' = one JSON object, 'S' = secret bytes (a value the human types), 'X' = a sealed frame.
// An approver runs the handshake of docs/architecture.md ("Handshake") with node:crypto, over the
// approver key (derived from the vault key; the test gets it from a test-only Java helper, since
// opening the keyslot needs SQLite and Argon2id), and then seals every frame both ways.
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { CheckError } from './check.js';
import { JAR, REPO } from './brokerctl.js';

export const KIND_JSON = 0x4a; // 'J'
export const KIND_SECRET = 0x53; // 'S'
export const KIND_SEALED = 0x58; // 'X'
export const PROTOCOL = 3;

const LABEL = 'brokerctl/v3 handshake';
const hmac = (key, ...parts) => {
  const h = createHmac('sha256', key);
  parts.forEach((p) => h.update(p));
  return h.digest();
};
const sha256 = (...parts) => {
  const h = createHash('sha256');
  parts.forEach((p) => h.update(p));
  return h.digest();
};
const lp = (b) => {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b, 'ascii');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(buf.length);
  return Buffer.concat([len, buf]);
};
/** HKDF-Expand (RFC 5869) for 32 bytes: one block. */
const expand32 = (prk, info) => hmac(prk, Buffer.alloc(0), Buffer.isBuffer(info) ? info : Buffer.from(info, 'ascii'), Buffer.from([1]));

/** The handshake of dev.brokerctl.protocol.Handshake, client side. */
export function handshake(psk, role, clientNonce, daemonNonce) {
  const prk = hmac(Buffer.from(LABEL, 'ascii'), psk);
  const th1 = sha256(lp(LABEL), lp(role), lp(clientNonce), lp(daemonNonce));
  const daemonProof = hmac(expand32(prk, 'brokerctl/v3 daemon proof'), th1);
  const th2 = sha256(th1, daemonProof);
  const clientProof = hmac(expand32(prk, 'brokerctl/v3 client proof'), th2);
  const th3 = sha256(th2, clientProof);
  return {
    daemonProof,
    clientProof,
    clientToDaemon: expand32(prk, Buffer.concat([Buffer.from('brokerctl/v3 client to daemon', 'ascii'), th3])),
    daemonToClient: expand32(prk, Buffer.concat([Buffer.from('brokerctl/v3 daemon to client', 'ascii'), th3])),
  };
}

/** One direction of a sealed connection (dev.brokerctl.protocol.Sealed). */
class Sealer {
  constructor(key, label) {
    this.key = key;
    this.label = Buffer.from(label, 'ascii');
    this.seq = 0n;
  }

  nonceAndAad(n) {
    const nonce = Buffer.alloc(12);
    nonce.writeBigUInt64BE(n, 4);
    const seq = Buffer.alloc(8);
    seq.writeBigUInt64BE(n);
    return { nonce, aad: Buffer.concat([this.label, seq]), seq };
  }

  seal(kind, body) {
    const n = this.seq++;
    const { nonce, aad, seq } = this.nonceAndAad(n);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(aad);
    const ct = Buffer.concat([c.update(Buffer.concat([Buffer.from([kind]), body])), c.final()]);
    return Buffer.concat([seq, ct, c.getAuthTag()]);
  }

  open(payload) {
    const n = payload.readBigUInt64BE(0);
    if (n !== this.seq) {
      throw new CheckError(`sealed frame ${n} where ${this.seq} was due`);
    }
    const { nonce, aad } = this.nonceAndAad(n);
    const d = createDecipheriv('aes-256-gcm', this.key, nonce);
    d.setAAD(aad);
    d.setAuthTag(payload.subarray(payload.length - 16));
    const plain = Buffer.concat([d.update(payload.subarray(8, payload.length - 16)), d.final()]);
    this.seq++;
    return { kind: plain[0], payload: plain.subarray(1) };
  }
}

/**
 * The approver key of the vault in `home` for the passphrase in `passphraseFile`, from the
 * test-only helper in cli's test classes (never part of the shipped jar).
 */
export function approverKey(home, passphraseFile) {
  const cp = `${join(REPO, 'cli', 'target', 'test-classes')}:${JAR}`;
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const hex = execFileSync(java, ['-cp', cp, 'dev.brokerctl.cli.ApproverKeyForTests', join(home, 'vault.db'), passphraseFile],
    { encoding: 'utf8' }).trim();
  return Buffer.from(hex, 'hex');
}
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
      const payload = Buffer.from(this.buffer.subarray(5, 4 + length));
      this.buffer = this.buffer.subarray(4 + length);
      if (this.receiveSeal) {
        try {
          this.frames.push(this.receiveSeal.open(payload));
        } catch (e) {
          this.finish(new CheckError(`a sealed frame from the daemon did not open: ${e.message}`));
          this.socket.destroy();
          return;
        }
      } else {
        this.frames.push({ kind, payload });
      }
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

  /** A frame, sealed once the handshake is done. */
  frameOut(kind, payload) {
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
    return this.sendSeal ? frame(KIND_SEALED, this.sendSeal.seal(kind, body)) : frame(kind, body);
  }

  sendJson(message) {
    this.socket.write(this.frameOut(KIND_JSON, JSON.stringify(message)));
  }

  sendSecret(bytes) {
    this.socket.write(this.frameOut(KIND_SECRET, bytes));
  }

  /** Sends `message` (and a SECRET frame right after it, when `secret` is given); returns the reply. */
  async call(message, secret) {
    if (secret !== undefined) {
      // one write: the daemon reads the secret frame right after the message
      this.socket.write(Buffer.concat([this.frameOut(KIND_JSON, JSON.stringify(message)), this.frameOut(KIND_SECRET, secret)]));
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
 * An approver: hello, then the handshake over the approver key (the daemon's proof checked
 * first), then a sealed connection. Returns the open connection and the daemon's hello.
 */
export async function connectApprover(path, key) {
  const c = await FramedConnection.connect(path);
  const hello = await c.expect({ type: 'hello', protocol: PROTOCOL, client: { name: 'e2e-approver' }, pid: process.pid }, 'hello');
  const clientNonce = randomBytes(32);
  const challenge = await c.expect({ type: 'handshake', role: 'approver', client_nonce: clientNonce.toString('base64') },
    'handshake_challenge');
  const h = handshake(key, 'approver', clientNonce, Buffer.from(challenge.daemon_nonce, 'base64'));
  const proof = Buffer.from(challenge.daemon_proof, 'base64');
  if (proof.length !== h.daemonProof.length || !timingSafeEqual(proof, h.daemonProof)) {
    c.close();
    throw new CheckError('the daemon could not prove it holds the vault key');
  }
  c.receiveSeal = new Sealer(h.daemonToClient, 'brokerctl/v3 sealed daemon to client');
  c.sendJson({ type: 'handshake_finish', client_proof: h.clientProof.toString('base64') });
  const ok = await c.readMessage();
  if (ok.type !== 'ok' || ok.approver !== true) {
    c.close();
    throw new CheckError(`handshake: expected ok {approver: true}, got ${JSON.stringify(ok)}`);
  }
  c.sendSeal = new Sealer(h.clientToDaemon, 'brokerctl/v3 sealed client to daemon');
  return { approver: c, hello };
}

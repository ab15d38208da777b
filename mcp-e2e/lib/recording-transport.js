// The SDK's StdioClientTransport, recording the raw JSON text of every message both ways and the
// server's stderr, for the leak checks. The same recorder wraps the v1 SDK's transport
// (RecordingStdioTransport) and the v2 SDK's (recording(StdioClientTransport) from
// @modelcontextprotocol/client/stdio): both keep the child process in `_process`.
import { StringDecoder } from 'node:string_decoder';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

/** A subclass of `Base` (a StdioClientTransport) that records what crosses stdin and stdout. */
export const recording = (Base) => class extends Base {
  constructor(params) {
    super({ ...params, stderr: 'pipe' });
    /** [{dir: 'sent' | 'received', text}], in order; `text` is the line as it crossed stdin/stdout. */
    this.transcript = [];
    /** Messages the SDK parsed and handed to the client (to check the raw record is complete). */
    this.receivedCount = 0;
    this.stderrChunks = [];
    this.exit = null;
    this.pendingRaw = '';
    this.stderr.on('data', (c) => this.stderrChunks.push(c));
    /** Errors the transport or the client reported (Protocol.connect chains to these handlers). */
    this.errors = [];
    this.onmessage = () => {
      this.receivedCount++;
    };
    this.onerror = (e) => {
      this.errors.push(e);
    };
  }

  async start() {
    await super.start();
    // The raw bytes of stdout, beside the SDK's own reader (a second 'data' listener).
    const child = this._process;
    if (!child?.stdout) {
      throw new Error('StdioClientTransport internals changed: no child process to record (SDK upgrade?)');
    }
    // a decoder of our own: setEncoding would hand the SDK's reader strings instead of Buffers
    const decoder = new StringDecoder('utf8');
    child.stdout.on('data', (chunk) => this.recordRaw(decoder.write(chunk)));
    child.on('exit', (code, signal) => {
      this.exit = { code, signal };
    });
    this.child = child;
  }

  recordRaw(chunk) {
    this.pendingRaw += chunk;
    let nl;
    while ((nl = this.pendingRaw.indexOf('\n')) >= 0) {
      const line = this.pendingRaw.slice(0, nl).replace(/\r$/, '');
      this.pendingRaw = this.pendingRaw.slice(nl + 1);
      this.transcript.push({ dir: 'received', text: line });
    }
  }

  send(message, options) {
    // serializeMessage in the SDK is JSON.stringify(message) + '\n'
    this.transcript.push({ dir: 'sent', text: JSON.stringify(message) });
    return super.send(message, options);
  }

  get serverStderr() {
    return Buffer.concat(this.stderrChunks.map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c)))).toString('utf8');
  }

  /** Every line both ways, newline-separated. */
  get transcriptText() {
    return this.transcript.map((m) => m.text).join('\n') + (this.pendingRaw ? '\n' + this.pendingRaw : '');
  }
};

export const RecordingStdioTransport = recording(StdioClientTransport);

// Canary values and every form of them the daemon's masker covers, so the suite can show that no
// value crossed the MCP channel. A canary is never printed: labels name it, `redact` blanks it.
import { randomBytes } from 'node:crypto';

/** A fresh, unguessable value per run: `prefix` + random hex, `length` bytes in all. */
function canary(prefix, length) {
  const hex = randomBytes(length).toString('hex');
  return (prefix + hex).slice(0, length);
}

// 24 bytes each (a multiple of 3: their base64 has no padding at the first alignment).
export const TOKEN_DEV = canary('cnry-dev-token-', 24);
export const TOKEN_PROD = canary('cnry-prd-token-', 24);
export const NEW_KEY = canary('cnry-new-key-', 24);
export const PEM_LINES = [canary('cnry-pem-1-', 24), canary('cnry-pem-2-', 24), canary('cnry-pem-3-', 24)];
/** A fake PEM: header, three canary lines, footer, trailing newline (as a PEM file has it). */
export const PEM = ['-----BEGIN E2E TEST KEY-----', ...PEM_LINES, '-----END E2E TEST KEY-----', ''].join('\n');
/** The vault passphrase: it only ever travels to the daemon in a SECRET frame. */
export const PASSPHRASE = `e2e passphrase ${randomBytes(9).toString('hex')}`;

/** The secrets the checks look for, by a label that does not reveal them. */
export const SECRETS = {
  'dev TOKEN': TOKEN_DEV,
  'prod TOKEN': TOKEN_PROD,
  'dev NEW_KEY': NEW_KEY,
  'dev PEM': PEM,
  'the passphrase': PASSPHRASE,
};

/** Leading base64 characters that depend on the k unknown bytes before the value (masker: LEADING_DROP). */
const LEADING_DROP = [0, 2, 3];
/** A base64 window this long of an encoded value must not appear anywhere (about 9 bytes of value). */
const BASE64_WINDOW = 12;

function toUrlSafe(s) {
  return s.replaceAll('+', '-').replaceAll('/', '_');
}

/** RFC 3986 percent-encoding: all but ALPHA / DIGIT / "-" / "." / "_" / "~". */
function percent(bytes, upper) {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9._~-]/.test(c)) {
      out += c;
    } else {
      const h = b.toString(16).padStart(2, '0');
      out += '%' + (upper ? h.toUpperCase() : h);
    }
  }
  return out;
}

/**
 * Literal forms: [form, label]. Raw, each line of a multi-line value (4+ bytes, as the masker
 * registers them), and for values of 8+ bytes: hex lower/upper, percent-encoding (both hex
 * cases), JSON string body (with and without escaped '/'), and base64 std / url-safe at the three
 * alignments (the characters that do not depend on neighbouring bytes, padding variants included).
 */
function literalForms(label, value) {
  const bytes = Buffer.from(value, 'utf8');
  const forms = [[value, label]];
  if (value.includes('\n')) {
    value.split('\n').forEach((line, i) => {
      const l = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (Buffer.byteLength(l) >= 4) {
        forms.push([l, `${label} (line ${i + 1})`]);
      }
    });
  }
  if (bytes.length < 8) {
    return forms;
  }
  forms.push([bytes.toString('hex'), `${label} (hex)`]);
  forms.push([bytes.toString('hex').toUpperCase(), `${label} (HEX)`]);
  forms.push([percent(bytes, true), `${label} (percent-encoded)`]);
  forms.push([percent(bytes, false), `${label} (percent-encoded, lower-case hex)`]);
  const json = JSON.stringify(value).slice(1, -1);
  forms.push([json, `${label} (JSON-escaped)`]);
  forms.push([json.replaceAll('/', '\\/'), `${label} (JSON-escaped, \\/)`]);
  for (const [i, core] of base64Cores(bytes).entries()) {
    forms.push([core, `${label} (base64 form ${i + 1})`]);
  }
  return forms;
}

/** Base64 std and url-safe of the value at prefix 0, 1 and 2 bytes, leading edge dropped, with and without the tail. */
function base64Cores(bytes) {
  const cores = new Set();
  for (let k = 0; k < 3; k++) {
    const std = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const fixed = Math.floor((8 * (k + bytes.length)) / 6);
    const unpadded = std.replace(/=+$/, '');
    for (const enc of [std, toUrlSafe(std)]) {
      cores.add(enc.slice(LEADING_DROP[k], fixed));
      cores.add(enc.slice(LEADING_DROP[k], unpadded.length));
      cores.add(enc.slice(LEADING_DROP[k]));
    }
  }
  return [...cores].filter((c) => c.length > 0);
}

/** Every BASE64_WINDOW-character window of the value-only base64 characters, all alignments, both alphabets. */
function base64Windows(bytes) {
  const windows = new Set();
  for (let k = 0; k < 3; k++) {
    const std = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const fixed = Math.floor((8 * (k + bytes.length)) / 6);
    for (const enc of [std, toUrlSafe(std)]) {
      const core = enc.slice(LEADING_DROP[k], fixed);
      for (let i = 0; i + BASE64_WINDOW <= core.length; i++) {
        windows.add(core.slice(i, i + BASE64_WINDOW));
      }
    }
  }
  return windows;
}

const FORMS = [];
const WINDOWS = [];
for (const [label, value] of Object.entries(SECRETS)) {
  FORMS.push(...literalForms(label, value));
  for (const w of base64Windows(Buffer.from(value, 'utf8'))) {
    WINDOWS.push([w, `${label} (a ${BASE64_WINDOW}-character piece of its base64)`]);
  }
}
// longest first, so redaction replaces a whole value before any of its lines
FORMS.sort((a, b) => b[0].length - a[0].length);

/** Labels of the secret forms found in `text` (empty when clean). Never the forms themselves. */
export function leaks(text) {
  const found = new Set();
  for (const [form, label] of FORMS) {
    if (text.includes(form)) {
      found.add(label);
    }
  }
  for (const [w, label] of WINDOWS) {
    if (text.includes(w)) {
      found.add(label);
    }
  }
  return [...found];
}

/** `text` with every secret form blanked out, for assertion messages. */
export function redact(text) {
  let s = String(text);
  for (const [form] of FORMS) {
    s = s.replaceAll(form, '<secret>');
  }
  for (const [w] of WINDOWS) {
    s = s.replaceAll(w, '<secret-b64>');
  }
  return s;
}

/** How many forms and windows the check looks for (for the report). */
export const FORM_COUNT = FORMS.length + WINDOWS.length;

// Assertions whose failures never print a secret. node:assert's own errors carry `actual` and
// `expected`, which the test reporter prints in full; these throw plain Errors with redacted text.
import { isDeepStrictEqual, inspect } from 'node:util';
import { leaks, redact } from './canaries.js';

function show(value) {
  return redact(typeof value === 'string' ? JSON.stringify(value) : inspect(value, { depth: 6, breakLength: 120 }));
}

export class CheckError extends Error {
  constructor(message) {
    super(redact(message));
    this.name = 'CheckError';
  }
}

/** Fails with `message` (redacted) unless `condition` holds. */
export function check(condition, message) {
  if (!condition) {
    throw new CheckError(typeof message === 'function' ? message() : message);
  }
}

/** Deep strict equality; the failure shows both sides redacted. */
export function equal(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new CheckError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

export function includes(text, part, what) {
  check(typeof text === 'string' && text.includes(part), () => `${what}: expected to contain ${show(part)}, got ${show(text)}`);
}

export function matches(text, regex, what) {
  check(typeof text === 'string' && regex.test(text), () => `${what}: expected to match ${regex}, got ${show(text)}`);
}

/** No secret form in `text`; names the forms found, never shows them. */
export function noSecretIn(text, where) {
  const found = leaks(String(text));
  check(found.length === 0, () => `${where} contains ${found.join(', ')}`);
}

/** A value for a failure message, redacted. */
export { show };

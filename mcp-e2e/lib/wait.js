// Waiting on a condition (a file's content, a process's state, a queue) with a deadline. The short
// pause between polls is not synchronisation: the condition is; the deadline bounds the wait.
import { setTimeout as delay } from 'node:timers/promises';
import { CheckError } from './check.js';

/**
 * Polls `probe` until it returns a value other than undefined/null/false, and returns that value.
 * Fails after `timeoutMs` saying what it waited for (and `describe()`'s view of the state then).
 */
export async function waitFor(what, probe, { timeoutMs = 20_000, intervalMs = 25, describe } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) {
      return value;
    }
    if (Date.now() >= deadline) {
      const state = describe ? `; ${await describe()}` : '';
      throw new CheckError(`waited ${timeoutMs} ms for ${what}${state}`);
    }
    await delay(intervalMs);
  }
}

/** A promise that rejects after `ms` unless `promise` settles first. */
export function withDeadline(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckError(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

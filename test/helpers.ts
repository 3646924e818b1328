/** Shared test helpers: backend set-up once per process, tiny model configs, leak checks. */
import { tf, initBackend } from "../lib/backend/backend";
import type { TransformerConfig } from "../lib/backbone/config";

export const TINY: Partial<TransformerConfig> = Object.freeze({
  vocabSize: 40,
  maxLen: 24,
  dModel: 16,
  nLayers: 2,
  nHeads: 2,
  dFF: 32,
});

/** Initialises the backend tests run on (KIT_BACKEND, else automatic). */
export async function setupBackend(): Promise<void> {
  await initBackend();
}

/** Runs `fn` and asserts it leaves no new tensors behind. */
export async function assertNoLeak(label: string, fn: () => unknown | Promise<unknown>): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`${label}: ${after - before} tensor(s) leaked (${before} -> ${after})`);
}

/** Deterministic ids in [0, vocab). */
export function fakeIds(n: number, vocab: number, seed = 1): Int32Array {
  const out = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s % vocab;
  }
  return out;
}

/** Copies every variable's values (for bitwise comparisons). */
export function snapshot(vars: tf.Variable[]): Float32Array[] {
  return vars.map((v) => Float32Array.from(v.dataSync() as Float32Array));
}

export function bitwiseEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** What assertBackboneUnchanged needs of a model: its variables and their names, in one order. */
interface NamedVariables {
  variables(): tf.Variable[];
  names(): string[];
}

/**
 * Asserts every variable of `model` is bitwise equal to `before` (a snapshot taken earlier): the frozen-backbone
 * guarantee. The message names the first changed weight.
 */
export function assertBackboneUnchanged(
  model: NamedVariables,
  before: readonly Float32Array[],
  label = "backbone",
): void {
  const after = snapshot(model.variables());
  if (after.length !== before.length)
    throw new Error(`${label}: ${before.length} weights before, ${after.length} after`);
  const changed = before
    .map((w, i) => (bitwiseEqual(w, after[i]!) ? null : model.names()[i]))
    .filter((n) => n !== null);
  if (changed.length > 0)
    throw new Error(`${label}: weight(s) ${changed.join(", ")} changed (the backbone must stay bitwise unchanged)`);
}

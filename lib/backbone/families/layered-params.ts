/**
 * The parameter layout shared by the rotary families (llama.ts, gpt-neox.ts): a token embedding, N blocks of
 * named entries under `layers.<i>.`, final norm tensors and an untied head when the config has one. Linear
 * weights are stored [in, out] here and transposed to and from Hugging Face's [out, in] on load and save.
 */
import { normalArray, type Rng } from "../../backend/random";
import { arch, type TransformerConfig } from "../config";
import type { ParamSpec } from "../family";

/** One tensor of a block: its name under `layers.<i>.`, its shape, and whether it is a linear weight. */
export interface BlockEntry {
  readonly name: string;
  readonly shape: number[];
  readonly linear: boolean;
}

/** Appends a linear layer's weight [din, dout] and, with `bias`, its bias [dout]. */
export function pushLinear(entries: BlockEntry[], name: string, din: number, dout: number, bias: boolean): void {
  entries.push({ name: `${name}.weight`, shape: [din, dout], linear: true });
  if (bias) entries.push({ name: `${name}.bias`, shape: [dout], linear: false });
}

/** Every parameter of a rotary-family model: embedding, blocks, final norm tensors, the untied head if any. */
export function layeredSpec(
  c: TransformerConfig,
  names: { embed: string; finalNorm: readonly string[]; head: string },
  blockEntries: readonly BlockEntry[],
): Map<string, ParamSpec> {
  const spec = new Map<string, ParamSpec>();
  spec.set(names.embed, { shape: [c.vocabSize, c.dModel] });
  for (let i = 0; i < c.nLayers; i++) {
    for (const e of blockEntries) spec.set(`layers.${i}.${e.name}`, { shape: e.shape, hfTransposed: e.linear });
  }
  for (const n of names.finalNorm) spec.set(n, { shape: [c.dModel] });
  if (!arch(c).tiedHead) spec.set(names.head, { shape: [c.dModel, c.vocabSize], hfTransposed: true });
  return spec;
}

/** Fresh weights: norm gains (names matching `normGain`) 1, biases 0, everything else N(0, 0.02). */
export function initialWeights(name: string, shape: readonly number[], normGain: RegExp, rng: Rng): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (normGain.test(name)) return new Float32Array(size).fill(1);
  if (name.endsWith(".bias")) return new Float32Array(size);
  return normalArray(rng, size, 0.02);
}

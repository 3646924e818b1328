/**
 * Saving and loading trained soft prompts. A prompt file is a safetensors file: one F32 tensor per slot
 * ("prompt.front", ...) and metadata recording the task, the prompt settings, its metrics and the identity of
 * the backbone it was trained on (name and weights fingerprint). Loading it for a backbone with another
 * fingerprint is refused: a prompt is only meaningful on the exact weights it was tuned against.
 *
 * Deep prompts (P-tuning v2) keep one prompt set per block: the input layer's slots are "prompt.<slot>" as for
 * an ordinary prompt, block b >= 1 adds "deep.<b>.<slot>", and the metadata records the layer count, so a
 * file missing a layer is refused instead of loading as a shallower prompt.
 *
 * A prompt holding NaN or Inf is refused both when saving and when loading (naming the file and tensor):
 * such a prompt comes from a diverged run and would score as a silent wrong result.
 */
import { readSafetensorsFile, SafeTensor, writeSafetensorsFile } from "../io/safetensors";
import { PROMPT_SLOTS, PromptSlot, SlotLengths } from "./positions";
import { PromptSet, PromptSettings } from "./soft-prompt";

export interface PromptMeta {
  readonly task: string;
  readonly labels: readonly string[];
  readonly settings: PromptSettings;
  readonly backbone: { readonly name: string; readonly fingerprint: string };
  /** test metrics (or any numbers worth keeping). */
  readonly metrics: Readonly<Record<string, number>>;
  /** free-form: training options, seed, dates. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** What a prompt file holds: the input layer's prompt and, for deep prompts, blocks 1..L-1 (else empty). */
export interface LoadedPrompt {
  readonly prompts: PromptSet;
  readonly deep: PromptSet[];
  readonly meta: PromptMeta;
}

/** The backbone a prompt is loaded for: its name, weights fingerprint and width. */
export interface PromptBackbone {
  readonly name: string;
  readonly fingerprint: string;
  readonly width: number;
}

const KEY = "kit_prompt";
const LAYERS_KEY = "kit_prompt_layers";

function tensorName(layer: number, slot: PromptSlot): string {
  return layer === 0 ? `prompt.${slot}` : `deep.${layer}.${slot}`;
}

/** Throws naming the file and tensor when `data` holds NaN or Inf. */
function checkFinite(file: string, name: string, data: Float32Array, doing: "save" | "load"): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0) {
    throw new Error(
      `${file}: tensor '${name}' holds ${bad} non-finite value(s) of ${data.length} (first at index ${first}: ${data[first]}); ` +
        `refusing to ${doing} a prompt with NaN or Inf (it comes from a diverged run: retrain with a lower learning rate)`,
    );
  }
}

/**
 * Writes `prompts` (one prompt set, or the per-layer sets of a deep prompt, input layer first) with `meta`.
 * Every layer must have the same slot lengths and width.
 */
export function savePrompt(file: string, prompts: PromptSet | readonly PromptSet[], meta: PromptMeta): void {
  const layers = Array.isArray(prompts) ? (prompts as readonly PromptSet[]) : [prompts as PromptSet];
  if (layers.length === 0) throw new Error(`${file}: nothing to save (no prompt layers)`);
  const first = layers[0]!;
  const tensors: Record<string, SafeTensor> = {};
  layers.forEach((layer, l) => {
    if (layer.width !== first.width || PROMPT_SLOTS.some((s) => layer.lengths[s] !== first.lengths[s])) {
      throw new Error(
        `${file}: prompt layer ${l} has slots ${JSON.stringify(layer.lengths)} x ${layer.width}, layer 0 has ${JSON.stringify(first.lengths)} x ${first.width}`,
      );
    }
    for (const [slot, data] of layer.arrays()) {
      checkFinite(file, tensorName(l, slot), data, "save");
      tensors[tensorName(l, slot)] = { dtype: "F32", shape: [data.length / layer.width, layer.width], data };
    }
  });
  writeSafetensorsFile(file, tensors, {
    [KEY]: JSON.stringify(meta),
    [LAYERS_KEY]: String(layers.length),
    format: "kit-prompt-v1",
  });
}

export function readPromptMeta(file: string): PromptMeta {
  const { metadata } = readSafetensorsFile(file);
  return metaOf(file, metadata);
}

function metaOf(file: string, metadata: Readonly<Record<string, string>>): PromptMeta {
  const raw = metadata[KEY];
  if (!raw) throw new Error(`${file}: not a kit prompt file (no '${KEY}' metadata)`);
  try {
    return JSON.parse(raw) as PromptMeta;
  } catch (err) {
    throw new Error(`${file}: '${KEY}' metadata is not valid JSON: ${(err as Error).message}`);
  }
}

/** Layer count recorded in the file (files written before deep prompts were saved whole hold one). */
function layerCount(file: string, metadata: Readonly<Record<string, string>>): number {
  const raw = metadata[LAYERS_KEY];
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${file}: metadata '${LAYERS_KEY}' must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * Loads a prompt for a backbone; refuses one trained on different weights, a file missing a layer or slot,
 * and any NaN or Inf value. `backbone.fingerprint` comes from loadCheckpoint(...).fingerprint or
 * fingerprint(model).
 */
export function loadPrompt(file: string, backbone: PromptBackbone): LoadedPrompt {
  const { tensors, metadata } = readSafetensorsFile(file);
  const meta = metaOf(file, metadata);
  if (meta.backbone.fingerprint !== backbone.fingerprint) {
    throw new Error(
      `${file}: this prompt was trained on backbone '${meta.backbone.name}' (${meta.backbone.fingerprint.slice(0, 19)}...), ` +
        `not on '${backbone.name}' (${backbone.fingerprint.slice(0, 19)}...): soft prompts do not transfer between backbones`,
    );
  }
  const nLayers = layerCount(file, metadata);
  const layers: Map<PromptSlot, Float32Array>[] = Array.from({ length: nLayers }, () => new Map());
  for (const [name, t] of Object.entries(tensors)) {
    const m = /^(?:prompt|deep\.([1-9][0-9]*))\.([a-z]+)$/.exec(name);
    const layer = m ? (m[1] === undefined ? 0 : Number(m[1])) : -1;
    const slot = m?.[2] as PromptSlot | undefined;
    if (!m || !PROMPT_SLOTS.includes(slot!) || layer >= nLayers) {
      throw new Error(
        `${file}: unexpected tensor '${name}' (a ${nLayers}-layer prompt holds prompt.<slot>${nLayers > 1 ? ` and deep.1..${nLayers - 1}.<slot>` : ""})`,
      );
    }
    if (t.dtype !== "F32" || t.shape.length !== 2 || t.shape[1] !== backbone.width) {
      throw new Error(`${file}: tensor '${name}' is ${t.dtype} [${t.shape}], expected F32 [P, ${backbone.width}]`);
    }
    checkFinite(file, name, t.data as Float32Array, "load");
    layers[layer]!.set(slot!, t.data as Float32Array);
  }
  const lengthsOf = (arrays: Map<PromptSlot, Float32Array>): SlotLengths =>
    Object.fromEntries(PROMPT_SLOTS.map((s) => [s, (arrays.get(s)?.length ?? 0) / backbone.width])) as Record<
      PromptSlot,
      number
    >;
  const want = lengthsOf(layers[0]!);
  if (layers[0]!.size === 0) throw new Error(`${file}: no prompt tensors (expected prompt.<slot>)`);
  layers.forEach((arrays, l) => {
    const got = lengthsOf(arrays);
    if (PROMPT_SLOTS.some((s) => got[s] !== want[s])) {
      throw new Error(
        `${file}: layer ${l} has slot lengths ${JSON.stringify(got)}, layer 0 has ${JSON.stringify(want)} (a layer is missing or damaged)`,
      );
    }
  });
  const sets = layers.map((arrays) => PromptSet.fromArrays(arrays, backbone.width, meta.settings.init));
  return { prompts: sets[0]!, deep: sets.slice(1), meta };
}

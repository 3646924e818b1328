/**
 * Saving and loading trained soft prompts. A prompt file is a safetensors file: one F32 tensor per slot
 * ("prompt.front", ...) and metadata recording the task, the prompt settings, its metrics and the identity of
 * the backbone it was trained on (name and weights fingerprint). Loading it for a backbone with another
 * fingerprint is refused: a prompt is only meaningful on the exact weights it was tuned against.
 */
import { readSafetensorsFile, SafeTensor, writeSafetensorsFile } from "../io/safetensors";
import { PROMPT_SLOTS, PromptSlot } from "./positions";
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

const KEY = "kit_prompt";

export function savePrompt(file: string, prompts: PromptSet, meta: PromptMeta): void {
  const tensors: Record<string, SafeTensor> = {};
  for (const [slot, data] of prompts.arrays()) {
    tensors[`prompt.${slot}`] = { dtype: "F32", shape: [data.length / prompts.width, prompts.width], data };
  }
  writeSafetensorsFile(file, tensors, { [KEY]: JSON.stringify(meta), format: "kit-prompt-v1" });
}

export function readPromptMeta(file: string): PromptMeta {
  const { metadata } = readSafetensorsFile(file);
  const raw = metadata[KEY];
  if (!raw) throw new Error(`${file}: not a kit prompt file (no '${KEY}' metadata)`);
  try {
    return JSON.parse(raw) as PromptMeta;
  } catch (err) {
    throw new Error(`${file}: '${KEY}' metadata is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Loads a prompt for a backbone; refuses one trained on different weights.
 * `backbone.fingerprint` comes from loadCheckpoint(...).fingerprint or fingerprint(model).
 */
export function loadPrompt(file: string, backbone: { name: string; fingerprint: string; width: number }): { prompts: PromptSet; meta: PromptMeta } {
  const { tensors } = readSafetensorsFile(file);
  const meta = readPromptMeta(file);
  if (meta.backbone.fingerprint !== backbone.fingerprint) {
    throw new Error(
      `${file}: this prompt was trained on backbone '${meta.backbone.name}' (${meta.backbone.fingerprint.slice(0, 19)}...), ` +
        `not on '${backbone.name}' (${backbone.fingerprint.slice(0, 19)}...): soft prompts do not transfer between backbones`,
    );
  }
  const arrays = new Map<PromptSlot, Float32Array>();
  for (const [name, t] of Object.entries(tensors)) {
    const slot = name.replace(/^prompt\./, "") as PromptSlot;
    if (!name.startsWith("prompt.") || !PROMPT_SLOTS.includes(slot)) throw new Error(`${file}: unexpected tensor '${name}'`);
    if (t.dtype !== "F32" || t.shape.length !== 2 || t.shape[1] !== backbone.width) {
      throw new Error(`${file}: tensor '${name}' is ${t.dtype} [${t.shape}], expected F32 [P, ${backbone.width}]`);
    }
    arrays.set(slot, t.data as Float32Array);
  }
  return { prompts: PromptSet.fromArrays(arrays, backbone.width, meta.settings.init), meta };
}

/**
 * A set of trainable soft prompts, one [P_slot, D] variable per used slot (front / middle / back).
 * Making the prompt ([P, D]) happens here; combining it with the input happens in splice.ts.
 */
import { tf } from "../backend/backend";
import type { Initializer } from "./initializers";
import { PROMPT_SLOTS, PromptSlot, SlotLengths, positionName, totalLength } from "./positions";

export interface PromptSettings {
  /** total prompt length over all slots. */
  readonly length: number;
  /** initializer name, e.g. "sampled-vocab". */
  readonly init: string;
  /** position name, e.g. "front" or "front+back". */
  readonly position: string;
}

let counter = 0;

/** A trainable variable holding `data`; the temporary tensor it is built from is released. */
function variableFrom(data: Float32Array, shape: [number, number], name: string): tf.Variable {
  const t = tf.tensor2d(data, shape);
  const v = tf.variable(t, true, name);
  t.dispose();
  return v;
}

export class PromptSet {
  readonly lengths: SlotLengths;
  readonly width: number;
  readonly init: string;
  private readonly vars: Map<PromptSlot, tf.Variable>;

  private constructor(lengths: SlotLengths, width: number, init: string, vars: Map<PromptSlot, tf.Variable>) {
    this.lengths = lengths;
    this.width = width;
    this.init = init;
    this.vars = vars;
  }

  /** Initialises each used slot with `initializer`, seeded per slot so slots differ. */
  static create(
    lengths: SlotLengths,
    width: number,
    initializer: Initializer,
    initName: string,
    seed: number,
  ): PromptSet {
    const vars = new Map<PromptSlot, tf.Variable>();
    PROMPT_SLOTS.forEach((s, i) => {
      const p = lengths[s];
      if (p === 0) return;
      const data = initializer(p, width, (seed * 3 + i) >>> 0);
      vars.set(s, variableFrom(data, [p, width], `prompt/${s}/${counter++}`));
    });
    if (vars.size === 0) throw new Error("a prompt set needs at least one slot with length > 0");
    return new PromptSet(lengths, width, initName, vars);
  }

  /** Rebuilds a prompt set from saved arrays (variables in slot order front, middle, back, as create makes them). */
  static fromArrays(arrays: ReadonlyMap<PromptSlot, Float32Array>, width: number, init: string): PromptSet {
    const lengths: Record<PromptSlot, number> = { front: 0, middle: 0, back: 0 };
    const vars = new Map<PromptSlot, tf.Variable>();
    for (const s of PROMPT_SLOTS) {
      const data = arrays.get(s);
      if (data === undefined) continue;
      if (data.length % width !== 0)
        throw new Error(`prompt slot '${s}' has ${data.length} values, not a multiple of width ${width}`);
      lengths[s] = data.length / width;
      vars.set(s, variableFrom(data, [lengths[s], width], `prompt/${s}/${counter++}`));
    }
    return new PromptSet(lengths, width, init, vars);
  }

  get settings(): PromptSettings {
    return { length: totalLength(this.lengths), init: this.init, position: positionName(this.lengths) };
  }

  /** The variable of a slot, or null when the slot is unused. */
  slot(s: PromptSlot): tf.Variable | null {
    return this.vars.get(s) ?? null;
  }

  variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  paramCount(): number {
    return totalLength(this.lengths) * this.width;
  }

  /** Slot values as plain arrays (for saving). */
  arrays(): Map<PromptSlot, Float32Array> {
    const out = new Map<PromptSlot, Float32Array>();
    for (const [s, v] of this.vars) out.set(s, Float32Array.from(v.dataSync() as Float32Array));
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

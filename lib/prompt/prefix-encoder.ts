/**
 * The trainable state of prefix tuning: per-layer key/value prefixes, in one of two forms.
 *
 * - direct: one variable [P, L*2*W] (W = key/value heads x head dim), the prefixes themselves.
 * - projected (Li & Liang 2021's reparameterisation, PEFT's `prefix_projection`): an embedding [P, D] through
 *   Linear(D, H) - tanh - Linear(H, L*2*W). Only the embedding and the MLP train; the prefixes are its output.
 *   After training, `collapse()` evaluates the MLP once and gives the direct form (what saving and inference need).
 *
 * Making the prefix happens here; using it happens in the attention (lib/backbone/kv-prefix.ts). A prefix also says how
 * the real tokens next to it are numbered (`positions`: "from-0", the default, or "after-prefix", Hugging Face's
 * numbering that a PEFT export needs); it is part of what was trained, so it travels with the prefix.
 *
 * Column layout of the [P, L*2*W] table (the same as PEFT 0.17's PrefixEncoder output, which get_prompt views as
 * [P, L*2, Hkv, dh]): layer l's keys are columns [2l*W, (2l+1)*W), its values the next W columns, each head-major
 * (head h at h*dh..). So a PEFT exporter can write the table as PEFT's `prompt_embeddings` [P, L*2*W] unchanged.
 */
import { tf } from "../backend/backend";
import { linear } from "../backend/linear";
import { normalArray, Rng, uniformArray } from "../backend/random";
import { PREFIX_POSITIONS, type KvPrefix, type PrefixPositions } from "../backbone/kv-prefix";
import { arch, type TransformerConfig } from "../backbone/config";

/** The backbone dimensions a prefix is made for. */
export interface PrefixShape {
  /** transformer layers L. */
  readonly layers: number;
  /** prefix length P (virtual tokens). */
  readonly length: number;
  /** key/value heads (nKvHeads; nHeads without grouped-query attention). */
  readonly kvHeads: number;
  readonly headDim: number;
  /** model width D (the projection's input width). */
  readonly dModel: number;
}

/** The prefix shape a backbone of config `c` needs for P = `length`. */
export function prefixShapeOf(c: TransformerConfig, length: number): PrefixShape {
  const a = arch(c);
  return { layers: c.nLayers, length, kvHeads: a.nKvHeads, headDim: a.headDim, dModel: c.dModel };
}

/** The reparameterisation: null for direct prefixes, else the MLP's hidden width H. */
export type PrefixProjection = { readonly hidden: number } | null;

let counter = 0;

function variable(data: Float32Array, shape: number[], name: string): tf.Variable {
  const t = tf.tensor(data, shape, "float32");
  const v = tf.variable(t, true, `prefix/${name}/${counter++}`);
  t.dispose();
  return v;
}

/** W = key/value heads x head dim. */
export function kvWidth(s: PrefixShape): number {
  return s.kvHeads * s.headDim;
}

/** Values in the [P, L*2*W] table (the direct form's trainable parameters). */
export function tableSize(s: PrefixShape): number {
  return s.length * s.layers * 2 * kvWidth(s);
}

/** Trainable values of a prefix: the table (direct), or embedding + both linears with biases (projected). */
export function prefixParamCount(s: PrefixShape, projection: PrefixProjection): number {
  if (!projection) return tableSize(s);
  const out = s.layers * 2 * kvWidth(s);
  const h = projection.hidden;
  return s.length * s.dModel + s.dModel * h + h + h * out + out;
}

export class PrefixEncoder {
  readonly shape: PrefixShape;
  readonly projection: PrefixProjection;
  /** how the real tokens are numbered next to this prefix (lib/backbone/kv-prefix.ts). */
  readonly positions: PrefixPositions;
  private readonly vars: tf.Variable[];

  private constructor(
    shape: PrefixShape,
    projection: PrefixProjection,
    vars: tf.Variable[],
    positions: PrefixPositions,
  ) {
    if (!(PREFIX_POSITIONS as readonly string[]).includes(positions)) {
      vars.forEach((v) => v.dispose());
      throw new Error(
        `prefix positions must be one of ${PREFIX_POSITIONS.join(", ")}, got ${JSON.stringify(positions)}`,
      );
    }
    this.shape = shape;
    this.projection = projection;
    this.vars = vars;
    this.positions = positions;
  }

  /**
   * A freshly initialised prefix. Direct: the table `initial` ([P, L*2*W] values, e.g. real tokens' keys and values,
   * see prefix-tuning.ts), else U(-0.5, 0.5). Projected: embedding N(0, 1) (nn.Embedding) and both linears
   * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases (nn.Linear), as PEFT's PrefixEncoder.
   */
  static create(
    shape: PrefixShape,
    projection: PrefixProjection,
    seed: number,
    initial?: Float32Array,
    positions: PrefixPositions = "from-0",
  ): PrefixEncoder {
    const rng = new Rng(seed);
    const out = shape.layers * 2 * kvWidth(shape);
    if (!projection) {
      const table = initial ?? uniformArray(rng, tableSize(shape), -0.5, 0.5);
      if (table.length !== tableSize(shape))
        throw new Error(
          `initial prefix table has ${table.length} values, expected ${tableSize(shape)} for ${describeShape(shape)}`,
        );
      return new PrefixEncoder(shape, null, [variable(table, [shape.length, out], "table")], positions);
    }
    if (initial) throw new Error("a projected prefix starts from its MLP's initialisation, not from a table");
    const d = shape.dModel;
    const h = projection.hidden;
    const u = (n: number, fanIn: number) => uniformArray(rng, n, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
    return new PrefixEncoder(
      shape,
      projection,
      [
        variable(normalArray(rng, shape.length * d, 1), [shape.length, d], "embedding"),
        variable(u(d * h, d), [d, h], "w1"),
        variable(u(h, d), [h], "b1"),
        variable(u(h * out, h), [h, out], "w2"),
        variable(u(out, h), [out], "b2"),
      ],
      positions,
    );
  }

  /** Direct prefixes from a saved table [P, L*2*W] (row-major). */
  static fromTable(shape: PrefixShape, table: Float32Array, positions: PrefixPositions = "from-0"): PrefixEncoder {
    if (table.length !== tableSize(shape))
      throw new Error(
        `prefix table has ${table.length} values, expected ${tableSize(shape)} for ${describeShape(shape)}`,
      );
    return new PrefixEncoder(
      shape,
      null,
      [variable(table, [shape.length, shape.layers * 2 * kvWidth(shape)], "table")],
      positions,
    );
  }

  /**
   * A prefix from the values of every variable, in the order `variables()` lists them: [table] (direct), or
   * [embedding [P, D], w1 [D, H], b1 [H], w2 [H, L*2*W], b2 [L*2*W]] (projected; weights [in, out]).
   */
  static fromValues(
    shape: PrefixShape,
    projection: PrefixProjection,
    values: readonly Float32Array[],
    positions: PrefixPositions = "from-0",
  ): PrefixEncoder {
    const out = shape.layers * 2 * kvWidth(shape);
    const shapes = projection
      ? [
          [shape.length, shape.dModel],
          [shape.dModel, projection.hidden],
          [projection.hidden],
          [projection.hidden, out],
          [out],
        ]
      : [[shape.length, out]];
    if (values.length !== shapes.length)
      throw new Error(
        `a ${projection ? "projected" : "direct"} prefix has ${shapes.length} tensor(s), got ${values.length}`,
      );
    const names = projection ? ["embedding", "w1", "b1", "w2", "b2"] : ["table"];
    const vars = shapes.map((sh, i) => {
      const size = sh.reduce((a, b) => a * b, 1);
      if (values[i]!.length !== size)
        throw new Error(`prefix ${names[i]} has ${values[i]!.length} values, expected ${size} ([${sh}])`);
      return variable(values[i]!, sh, names[i]!);
    });
    return new PrefixEncoder(shape, projection, vars, positions);
  }

  variables(): tf.Variable[] {
    return [...this.vars];
  }

  /** Trainable values: the table (direct), or embedding + both linears with biases (projected). */
  paramCount(): number {
    return this.vars.reduce((n, v) => n + v.size, 0);
  }

  /** The prefixes as one table [P, L*2*W] (see the column layout above). Call inside tf.tidy or a gradient. */
  table(): tf.Tensor2D {
    const [first, w1, b1, w2, b2] = this.vars as [tf.Variable, ...tf.Variable[]];
    if (!this.projection) return first as tf.Tensor2D;
    const hidden = tf.tanh(linear(first as tf.Tensor2D, w1 as tf.Tensor2D, b1 as tf.Tensor1D, { weightGrad: true }));
    return linear(hidden as tf.Tensor2D, w2 as tf.Tensor2D, b2 as tf.Tensor1D, { weightGrad: true }); // [P, L*2*W]
  }

  /** The prefixes for a forward pass (ForwardOptions.prefix); the table is computed once per call. */
  prefix(): KvPrefix {
    const s = this.shape;
    const table = this.table();
    const w = kvWidth(s);
    const cols = (start: number) => tf.slice(table, [0, start], [s.length, w]) as tf.Tensor2D;
    return {
      length: s.length,
      positions: this.positions,
      layer: (l) => ({ keys: cols(2 * l * w), values: cols((2 * l + 1) * w) }),
    };
  }

  /** The table's values [P * L*2*W] (the direct form: for saving, or to drop the projection after training). */
  collapse(): Float32Array {
    return tf.tidy(() => Float32Array.from(this.table().dataSync() as Float32Array));
  }

  /** Overwrites a direct prefix's table with saved values (same shape). */
  assignTable(table: Float32Array): void {
    if (this.projection)
      throw new Error(
        "a projected prefix cannot take a saved table: collapse it, or load the table as direct prefixes",
      );
    if (table.length !== tableSize(this.shape))
      throw new Error(`prefix table has ${table.length} values, expected ${tableSize(this.shape)}`);
    const t = tf.tensor2d(table, this.vars[0]!.shape as [number, number]);
    this.vars[0]!.assign(t);
    t.dispose();
  }

  dispose(): void {
    this.vars.forEach((v) => v.dispose());
    this.vars.length = 0;
  }
}

/** "6 layers x 20 prefix rows x 4 key/value heads x 32 dims" */
export function describeShape(s: PrefixShape): string {
  return `${s.layers} layers x ${s.length} prefix rows x ${s.kvHeads} key/value heads x ${s.headDim} dims`;
}

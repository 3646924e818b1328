/**
 * Rotary position embeddings (Su et al. 2021) in the Hugging Face "rotate half" layout used by Llama and GPT-NeoX:
 * the first `width` dims of each head are split in halves x1, x2 and
 *   out = x * cos + cat(-x2, x1) * sin,  angle(p, j) = p * theta^(-2j / width),  j < width / 2
 * (cos/sin repeated over both halves); dims beyond `width` (GPT-NeoX partial rotary) pass through.
 * Angles follow torch's float32 arithmetic (inverse frequencies and products rounded to float32).
 */
import { tf } from "../backend/backend";

export interface RotaryTables {
  /** [N, 1, width] */
  readonly cos: tf.Tensor3D;
  readonly sin: tf.Tensor3D;
  readonly width: number;
}

/** cos/sin tables for rows with the given positions. */
export function rotaryTables(positions: ArrayLike<number>, width: number, theta: number): RotaryTables {
  const half = width / 2;
  const inv = new Float32Array(half);
  for (let j = 0; j < half; j++) inv[j] = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * j) / width))));
  const n = positions.length;
  const cos = new Float32Array(n * width);
  const sin = new Float32Array(n * width);
  for (let i = 0; i < n; i++) {
    const p = positions[i]!;
    for (let j = 0; j < half; j++) {
      const angle = Math.fround(p * inv[j]!);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[i * width + j] = c;
      cos[i * width + j + half] = c;
      sin[i * width + j] = s;
      sin[i * width + j + half] = s;
    }
  }
  return { cos: tf.tensor3d(cos, [n, 1, width]), sin: tf.tensor3d(sin, [n, 1, width]), width };
}

/** x: [N, H, dh] -> rotated [N, H, dh]. */
export function applyRotary(x: tf.Tensor3D, t: RotaryTables): tf.Tensor3D {
  const [n, h, dh] = x.shape;
  const r = t.width;
  const half = r / 2;
  const rot = r === dh ? x : tf.slice(x, [0, 0, 0], [n, h, r]);
  const x1 = tf.slice(rot, [0, 0, 0], [n, h, half]);
  const x2 = tf.slice(rot, [0, 0, half], [n, h, half]);
  const turned = tf.concat([tf.neg(x2), x1], 2);
  const out = tf.add(tf.mul(rot, t.cos), tf.mul(turned, t.sin)) as tf.Tensor3D;
  return r === dh ? out : (tf.concat([out, tf.slice(x, [0, 0, r], [n, h, dh - r])], 2) as tf.Tensor3D);
}

/** MLP activations. quick_gelu is ~10x cheaper than gelu_new on wasm (sigmoid is a fast kernel, tanh is not). */
import { tf } from "../backend/backend";
import type { Activation } from "./config";
import { activeKernels } from "../backend/kernels/kernel-set";
import { nativeActivation } from "../backend/kernels/native-ops";

export function activate(x: tf.Tensor2D, kind: Activation): tf.Tensor2D {
  if (activeKernels() === "native" && (kind === "quick_gelu" || kind === "gelu_new" || kind === "relu")) {
    return nativeActivation(x, kind); // one fused pass forward, one backward
  }
  switch (kind) {
    case "quick_gelu":
      return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
    case "gelu_new": {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as in GPT-2.
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    case "relu":
      return tf.relu(x);
    case "gelu": // exact: 0.5 x (1 + erf(x / sqrt 2)), as torch's nn.GELU() and HF's "gelu"
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    case "silu": // x sigmoid(x), the gate of Llama's SwiGLU MLP
      return tf.mul(x, tf.sigmoid(x));
  }
}

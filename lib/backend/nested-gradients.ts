/** Nested tf.grads calls from inside a gradient function (checkpointed blocks, offloaded experts). */
import { tf } from "./backend";

/**
 * Runs `f` (which calls tf.grads) from inside a gradient function, i.e. while the engine is back-propagating an
 * outer tape. tfjs 4.x's engine.gradients starts a fresh tape when no tape is recording (true during backprop, the
 * outer tape having ended) and sets `activeTape` to null when done, which drops the outer tape: the outer
 * gradients() then fails on its final cleanup ("Cannot read properties of null (reading 'forEach')") and the
 * outer tape's saved tensors would never be freed. Restoring the outer tape afterwards makes the nested call
 * self-contained: it frees its own saved tensors and leaves the outer backward pass as it found it.
 */
export function gradientsInsideBackward<T>(f: () => T): T {
  const state = tf.engine().state;
  const outer = state.activeTape;
  try {
    return f();
  } finally {
    state.activeTape = outer;
  }
}

/**
 * Whether the engine is recording ops for a gradient (inside tf.grads / tf.variableGrads / optimizer.minimize and
 * not inside a kernel). When it is not, a forward pass can free each block's intermediates as soon as the block
 * returns (nothing will ask for them), which bounds an inference pass's tensor memory by one block's activations.
 */
export function recordingGradients(): boolean {
  const state = tf.engine().state as unknown as { gradientDepth: number; kernelDepth: number };
  return state.gradientDepth > 0 && state.kernelDepth === 0;
}

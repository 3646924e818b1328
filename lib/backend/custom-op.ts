/**
 * A typed wrapper over tf.customGrad: `f(inputs, save)` returns the value and a gradient function that returns
 * one gradient per input, in order. Only the tensors passed as inputs get gradients; anything the body closes
 * over is treated as a constant (the tape records no edge to it).
 */
import { tf } from "./backend";

export interface CustomOpResult<O extends tf.Tensor> {
  readonly value: O;
  readonly grad: (dy: O, saved: tf.Tensor[]) => tf.Tensor[];
}

export function customOp<I extends tf.Tensor[], O extends tf.Tensor>(
  body: (inputs: I, save: tf.GradSaveFunc) => CustomOpResult<O>,
): (...inputs: I) => O {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as I;
    const { value, grad } = body(inputs, save);
    return { value, gradFunc: (dy: O, saved: tf.Tensor[]) => grad(dy, saved) };
  });
  return (...inputs: I) => op(...inputs) as O;
}

/**
 * A backbone's identity: SHA-256 over every parameter's name, shape and float32 bytes, in canonical order.
 * Two models have the same fingerprint iff their weights are bitwise identical. Trained prompts record it so a
 * prompt is never silently applied to a different backbone.
 */
import { createHash } from "node:crypto";
import type { Transformer } from "./transformer";

export function fingerprint(model: Transformer): string {
  return fingerprintOf(
    model.names().map((name) => {
      const v = model.param(name);
      return { name, shape: v.shape, data: () => v.dataSync() as Float32Array };
    }),
  );
}

/** The same hash over named tensors given one at a time (each `data()` is called once, in order). */
export function fingerprintOf(
  tensors: Iterable<{ name: string; shape: readonly number[]; data: () => Float32Array }>,
): string {
  const h = createHash("sha256");
  for (const t of tensors) {
    h.update(`${t.name}:${t.shape.join("x")};`);
    const data = t.data();
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return "sha256:" + h.digest("hex");
}

/**
 * A backbone's identity: SHA-256 over every parameter's name, shape and float32 bytes, in canonical order.
 * Two models have the same fingerprint iff their weights are bitwise identical. Trained prompts record it so a
 * prompt is never silently applied to a different backbone.
 */
import { createHash } from "node:crypto";
import type { Transformer } from "./transformer";

export function fingerprint(model: Transformer): string {
  const h = createHash("sha256");
  for (const name of model.names()) {
    const v = model.param(name);
    h.update(`${name}:${v.shape.join("x")};`);
    const data = v.dataSync() as Float32Array;
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return "sha256:" + h.digest("hex");
}

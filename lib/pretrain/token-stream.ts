/**
 * A corpus split encoded once into one flat token stream (documents joined by <eos>), cached on disk as raw
 * int32 next to the text, keyed by the text's and tokenizer's hashes so a changed corpus or tokenizer is
 * re-encoded rather than silently reused.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../io/atomic-write";
import type { Tokenizer } from "../tokenizer/tokenizer";

export function encodeCorpusFile(textFile: string, tokenizer: Tokenizer, cacheDir: string): Int32Array {
  const text = fs.readFileSync(textFile, "utf8");
  const key = createHash("sha256").update(text).update(JSON.stringify(tokenizer.toJSON())).digest("hex").slice(0, 16);
  const cache = path.join(cacheDir, `${path.basename(textFile, ".txt")}.${key}.i32`);
  if (fs.existsSync(cache)) {
    const buf = fs.readFileSync(cache);
    return new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  }
  const chunks: number[][] = [];
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const ids = tokenizer.encode(line);
    ids.push(tokenizer.eosId);
    chunks.push(ids);
    total += ids.length;
  }
  const out = new Int32Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  writeFileAtomic(cache, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
  return out;
}

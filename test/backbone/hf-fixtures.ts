/**
 * Hugging Face-layout checkpoints made by the independent PyTorch references (test/backbone/hf_reference.py), once
 * per process, with the tiny test tokenizer copied in. null when /usr/bin/python3 or torch is missing.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tinyCheckpointDir } from "../tuning/fixture";

export const PYTHON = "/usr/bin/python3";
const SCRIPT = path.resolve(__dirname, "../../../test/backbone/hf_reference.py");

let cached: { root: string; variants: string[] } | null | undefined;

export function hfReferenceCheckpoints(): { root: string; variants: string[] } | null {
  if (cached !== undefined) return cached;
  const probe = spawnSync(PYTHON, ["-c", "import torch, numpy"], { encoding: "utf8", timeout: 60_000 });
  if (probe.status !== 0) {
    cached = null;
    return null;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "kit-hf-ref-"));
  const run = spawnSync(PYTHON, [SCRIPT, root], { encoding: "utf8", timeout: 120_000 });
  if (run.status !== 0) throw new Error(`${SCRIPT} failed:\n${run.stderr}`);
  const variants = JSON.parse(run.stdout.trim().split("\n").pop()!) as string[];
  const tok = path.join(tinyCheckpointDir(), "tokenizer.json");
  for (const v of variants) fs.copyFileSync(tok, path.join(root, v, "tokenizer.json"));
  cached = { root, variants };
  return cached;
}

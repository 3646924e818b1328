/**
 * Shared last step of every loader: check labels, split, and assemble a TaskData whose provenance
 * note also records what de-duplication dropped.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Example, TaskData, TaskSourceInfo } from "./example";
import { splitExamples, type SplitOptions } from "./split";

/** Split `examples` and wrap them as a task. Every example's label must be in `labels`. */
export function buildTask(
  name: string,
  labels: readonly string[],
  examples: readonly Example[],
  split: SplitOptions,
  source: TaskSourceInfo,
): TaskData {
  const allowed = new Set(labels);
  for (const ex of examples) {
    if (!allowed.has(ex.label)) {
      throw new Error(`task ${name}: example ${ex.id} has label "${ex.label}", expected one of [${labels.join(", ")}]`);
    }
  }
  const s = splitExamples(examples, split);
  const dropped =
    s.duplicatesDropped + s.conflictsDropped > 0
      ? ` De-duplication at split time dropped ${s.duplicatesDropped} duplicate(s) and ${s.conflictsDropped} label-conflicting example(s).`
      : "";
  return Object.freeze({
    name,
    labels: Object.freeze([...labels]),
    train: Object.freeze(s.train),
    dev: Object.freeze(s.dev),
    test: Object.freeze(s.test),
    source: Object.freeze({ ...source, note: source.note + dropped }),
  });
}

/** Directory and version of an installed package (resolved from this project's node_modules). */
export function installedPackage(name: string): { dir: string; version: string } {
  let manifest: string;
  try {
    manifest = require.resolve(`${name}/package.json`);
  } catch (err) {
    throw new Error(`package ${name} is not installed (needed for its data): ${(err as Error).message}`);
  }
  const version = (JSON.parse(fs.readFileSync(manifest, "utf8")) as { version?: unknown }).version;
  if (typeof version !== "string") throw new Error(`${manifest}: field "version" is missing or not a string`);
  return { dir: path.dirname(manifest), version };
}

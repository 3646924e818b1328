/**
 * Moving trained prefixes between the kit's prefix files (lib/prompt/prefix-file.ts; the prompt library holds only
 * soft prompts) and PEFT PREFIX_TUNING adapter folders (prefix-tuning.ts):
 *
 *   exportPeftPrefix("yelp.prefix.safetensors", "adapters/yelp", backbone)   // refused for a "from-0" prefix
 *   importPeftPrefix("adapters/yelp", "yelp.prefix.safetensors", backbone)   // then kit.loadPromptModel(b, file)
 *
 * An imported prefix is saved with positions "after-prefix", so the kit runs it as PEFT and Hugging Face do.
 */
import * as fs from "node:fs";
import { loadPrefix, savePrefix } from "../prefix-file";
import type { PromptMeta } from "../prompt-file";
import {
  exportPrefixTuningAdapter,
  importPrefixTuningAdapter,
  prefixShapeFor,
  type PeftPrefixBackbone,
} from "./prefix-tuning";
import { adapterTaskAndLabels } from "./adapter-config";

/** Writes the prefix file `file` as a PEFT PREFIX_TUNING adapter folder `dir` for `backbone` (its own backbone). */
export function exportPeftPrefix(
  file: string,
  dir: string,
  backbone: PeftPrefixBackbone,
  opts: { overwrite?: boolean } = {},
): { config: string; weights: string } {
  const { length: _any, ...shape } = prefixShapeFor(backbone, 1);
  const { prefix, meta } = loadPrefix(file, { name: backbone.name, fingerprint: backbone.fingerprint, shape });
  try {
    return exportPrefixTuningAdapter(dir, prefix, meta, backbone, { overwrite: opts.overwrite, what: file });
  } finally {
    prefix.dispose();
  }
}

export interface PrefixImportOptions {
  /** the task the prefix is for; required when the adapter carries no kit metadata. */
  readonly task?: string;
  /** the task's labels, in order; required with `task` for a foreign adapter. */
  readonly labels?: readonly string[];
  /** replace an existing prefix file (default false: refuse). */
  readonly overwrite?: boolean;
}

/** Reads a PEFT PREFIX_TUNING adapter folder for `backbone` and saves it as the kit prefix file `file`. */
export function importPeftPrefix(
  dir: string,
  file: string,
  backbone: PeftPrefixBackbone,
  opts: PrefixImportOptions = {},
): PromptMeta {
  if (fs.existsSync(file) && !opts.overwrite)
    throw new Error(`${file}: already exists; refusing to overwrite a prefix file (ask to overwrite it)`);
  const got = importPrefixTuningAdapter(dir, backbone);
  try {
    const kit = got.kitMeta;
    const { task, labels } = adapterTaskAndLabels(dir, kit, opts);
    const meta: PromptMeta = {
      task,
      labels,
      settings: kit?.settings ?? {
        length: got.prefix.shape.length,
        init: "peft",
        position: "key/value prefix (every layer)",
      },
      backbone: { name: backbone.name, fingerprint: backbone.fingerprint },
      metrics: kit?.metrics ?? {},
      extra: {
        ...(kit?.extra ?? {}),
        method: "prefix-tuning",
        positions: got.prefix.positions,
        importedFrom: dir,
        peftType: got.config.peft_type,
      },
    };
    savePrefix(file, got.prefix, meta);
    return meta;
  } finally {
    got.prefix.dispose();
  }
}

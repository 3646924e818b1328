/**
 * Moving prompts between a prompt library and PEFT adapter folders: export an entry (refused, with the reason,
 * when PEFT cannot express its position or depth), and import an adapter as a new entry for a backbone.
 */
import type { LibraryEntry, PromptLibrary } from "../library";
import type { PromptMeta } from "../prompt-file";
import { adapterTaskAndLabels, type PeftBackbone } from "./adapter-config";
import { exportPeftAdapter, importPeftAdapter } from "./index";

/** Writes library entry `id` as a PEFT adapter folder `dir` for `backbone` (the backbone it was trained on). */
export function exportLibraryEntry(
  library: PromptLibrary,
  id: string,
  dir: string,
  backbone: PeftBackbone,
  opts: { overwrite?: boolean } = {},
): { config: string; weights: string } {
  const what = `${library.dir} entry '${id}'`;
  const loaded = library.load(id, backbone);
  const layers = [loaded.prompts, ...loaded.deep];
  try {
    return exportPeftAdapter(dir, layers, loaded.meta, backbone, { overwrite: opts.overwrite, what });
  } finally {
    layers.forEach((p) => p.dispose());
  }
}

export interface ImportOptions {
  /** the task the prompt is for; required when the adapter carries no kit metadata. */
  readonly task?: string;
  /** the task's labels, in order; required with `task` for a foreign adapter. */
  readonly labels?: readonly string[];
  /** the entry's name in the library (default: derived). */
  readonly name?: string;
  readonly overwrite?: boolean;
}

/** Reads a PEFT adapter folder for `backbone` and adds it to `library`; returns the new entry. */
export function importAdapterToLibrary(
  library: PromptLibrary,
  dir: string,
  backbone: PeftBackbone,
  opts: ImportOptions = {},
): LibraryEntry {
  const got = importPeftAdapter(dir, backbone);
  try {
    const kit = got.kitMeta;
    const { task, labels } = adapterTaskAndLabels(dir, kit, opts);
    const meta: PromptMeta = {
      task,
      labels,
      settings: { length: got.prompts.lengths.front, init: kit?.settings?.init ?? "peft", position: "front" },
      backbone: { name: backbone.name, fingerprint: backbone.fingerprint },
      metrics: kit?.metrics ?? {},
      extra: { ...(kit?.extra ?? {}), method: "prompt-tuning", importedFrom: dir, peftType: got.config.peft_type },
    };
    return library.add(got.prompts, meta, { name: opts.name, overwrite: opts.overwrite });
  } finally {
    got.prompts.dispose();
  }
}

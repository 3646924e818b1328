/**
 * PEFT adapter interop: export a kit prompt as a Hugging Face PEFT adapter folder, import one back.
 *
 * One exporter and one importer per PEFT type of soft prompt, in the two registries below; the kit's tuning method
 * picks the exporter. Adding a PEFT prompt format is a file beside prompt-tuning.ts and a line in each registry.
 * Prefix tuning's key/value prefixes are not soft prompts (the prompt library does not hold them): they move between
 * kit prefix files and PREFIX_TUNING adapters through prefix-tuning.ts and prefix-io.ts (exportPeftPrefix,
 * importPeftPrefix).
 */
import type { LoadedBackbone } from "../../backbone/checkpoint";
import type { PromptMeta } from "../prompt-file";
import type { PromptSet } from "../soft-prompt";
import { AdapterError, peftTypeOf, readAdapterConfigObject, type PeftBackbone } from "./adapter-config";
import { exportPromptTuningAdapter, importPromptTuningAdapter, type ImportedAdapter } from "./prompt-tuning";

export * from "./adapter-config";
export * from "./prompt-tuning";
export * from "./prefix-tuning";
export { exportPeftPrefix, importPeftPrefix, type PrefixImportOptions } from "./prefix-io";
export { exportLibraryEntry, importAdapterToLibrary, type ImportOptions } from "./library-io";

export interface ExportOptions {
  /** replace an existing adapter folder's files (default false: refuse). */
  readonly overwrite?: boolean;
  /** names the prompt in messages (a file, a library entry). */
  readonly what?: string;
}

type Exporter = (
  dir: string,
  layers: readonly PromptSet[],
  meta: PromptMeta,
  backbone: PeftBackbone,
  opts: ExportOptions,
) => { config: string; weights: string };

type Importer = (
  dir: string,
  config: Record<string, unknown>,
  configFile: string,
  backbone: PeftBackbone,
) => ImportedAdapter;

/** PEFT type -> writer. */
export const PEFT_EXPORTERS: Readonly<Record<string, Exporter>> = Object.freeze({
  PROMPT_TUNING: exportPromptTuningAdapter,
});

/** PEFT type -> reader. */
export const PEFT_IMPORTERS: Readonly<Record<string, Importer>> = Object.freeze({
  PROMPT_TUNING: importPromptTuningAdapter,
});

/**
 * The PEFT type a kit method's prompt exports as. Deep prompt tuning maps to PROMPT_TUNING so the exporter can
 * refuse it with its reason (PEFT's prompt tuning holds one input-layer prompt).
 */
export const PEFT_TYPE_OF_METHOD: Readonly<Record<string, string>> = Object.freeze({
  "prompt-tuning": "PROMPT_TUNING",
  "deep-prompt-tuning": "PROMPT_TUNING",
});

/** The identity PEFT files are checked against, from a loaded backbone. */
export function peftBackboneOf(b: LoadedBackbone): PeftBackbone {
  return {
    name: b.name,
    fingerprint: b.fingerprint,
    width: b.config.dModel,
    heads: b.config.nHeads,
    layers: b.config.nLayers,
  };
}

/** Writes `layers` (a saved prompt's layers) as a PEFT adapter folder in the format of the prompt's method. */
export function exportPeftAdapter(
  dir: string,
  layers: readonly PromptSet[],
  meta: PromptMeta,
  backbone: PeftBackbone,
  opts: ExportOptions = {},
): { config: string; weights: string } {
  const method = String(meta.extra?.["method"] ?? (layers.length > 1 ? "deep-prompt-tuning" : "prompt-tuning"));
  const type = PEFT_TYPE_OF_METHOD[method];
  const exporter = type === undefined ? undefined : PEFT_EXPORTERS[type];
  if (exporter === undefined) {
    throw new Error(
      `${opts.what ?? `prompt for task '${meta.task}'`}: method '${method}' has no PEFT export (exportable: ${Object.keys(PEFT_TYPE_OF_METHOD).join(", ")})`,
    );
  }
  return exporter(dir, layers, meta, backbone, opts);
}

/** Reads a PEFT adapter folder for `backbone`, dispatching on its peft_type. */
export function importPeftAdapter(dir: string, backbone: PeftBackbone): ImportedAdapter {
  const { file, obj } = readAdapterConfigObject(dir);
  const type = peftTypeOf(file, obj);
  const importer = PEFT_IMPORTERS[type];
  if (type === "PREFIX_TUNING") {
    throw new AdapterError(
      file,
      "peft_type",
      `is "PREFIX_TUNING": key/value prefixes are not soft prompts; import it as a kit prefix file with ` +
        `importPeftPrefix (CLI: npm run prompts -- import --adapter DIR --backbone NAME --out FILE)`,
    );
  }
  if (importer === undefined) {
    throw new AdapterError(
      file,
      "peft_type",
      `is ${JSON.stringify(type)}, a PEFT type the kit cannot import (it imports ${Object.keys(PEFT_IMPORTERS).join(", ")})`,
    );
  }
  return importer(dir, obj, file, backbone);
}

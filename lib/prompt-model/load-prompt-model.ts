/**
 * Loading a saved prompt back as a prompt model: the file (or library entry) is refused unless it was trained on
 * these exact backbone weights; every layer of a deep prompt is restored. A prefix file (prefix tuning,
 * lib/prompt/prefix-file.ts) loads as a prefix-tuning model with direct prefixes.
 */
import type { LoadedBackbone } from "../backbone/checkpoint";
import { oneOf } from "../io/validate";
import type { PromptInitKind } from "../prompt/initializers";
import type { PromptLibrary } from "../prompt/library";
import { loadPrompt } from "../prompt/prompt-file";
import { isPrefixFile, loadPrefix } from "../prompt/prefix-file";
import { prefixShapeOf } from "../prompt/prefix-encoder";
import { PromptModel, PROMPT_MODEL_METHODS } from "./prompt-model";
import type { TaskInput } from "./task-input";

/**
 * Loads a saved prompt (a prompt file, or an entry of a prompt library) as a PromptModel on `backbone`. The file
 * must have been trained on these exact weights (fingerprint check). `task` defaults to the shipped task the
 * prompt was trained on; give it for a user task (same labels as the file records).
 */
export function loadPromptModel(
  backbone: LoadedBackbone,
  file: string | { library: PromptLibrary; id: string },
  opts: { task?: TaskInput } = {},
): PromptModel {
  if (typeof file === "string" && isPrefixFile(file)) return loadPrefixModel(backbone, file, opts);
  const identity = { name: backbone.name, fingerprint: backbone.fingerprint, width: backbone.config.dModel };
  const label = typeof file === "string" ? file : `${file.library.dir} entry '${file.id}'`;
  const loaded = typeof file === "string" ? loadPrompt(file, identity) : file.library.load(file.id, identity);
  const layers = [loaded.prompts, ...loaded.deep];
  try {
    const method = loaded.meta.extra?.["method"] ?? (loaded.deep.length > 0 ? "deep-prompt-tuning" : "prompt-tuning");
    const model = new PromptModel(oneOf(method, `${label}: method`, PROMPT_MODEL_METHODS), backbone, {
      length: loaded.prompts.settings.length,
      position: loaded.prompts.settings.position,
      // The initializer runs (and is then overwritten by the saved values) so the model reports the saved settings.
      init: loaded.meta.settings.init as PromptInitKind,
      ...(loaded.meta.settings.init === "text"
        ? { initText: String(loaded.meta.extra?.["initText"] ?? "saved prompt") }
        : {}),
      task: opts.task ?? loaded.meta.task,
    });
    const labels = model.task!.labels;
    if (labels.join("\u0000") !== loaded.meta.labels.join("\u0000")) {
      model.dispose();
      throw new Error(
        `${label}: the prompt was trained for labels ${JSON.stringify(loaded.meta.labels)}, task '${model.task!.name}' has ${JSON.stringify(labels)}`,
      );
    }
    model.assignLayers(layers);
    return model;
  } finally {
    layers.forEach((p) => p.dispose());
  }
}

/** A prefix file as a prefix-tuning model (direct prefixes: a projected prefix was saved collapsed). */
function loadPrefixModel(backbone: LoadedBackbone, file: string, opts: { task?: TaskInput }): PromptModel {
  const { length: _any, ...shape } = prefixShapeOf(backbone.config, 1);
  const { prefix, meta } = loadPrefix(file, { name: backbone.name, fingerprint: backbone.fingerprint, shape });
  try {
    const model = new PromptModel("prefix-tuning", backbone, {
      length: prefix.shape.length,
      positions: prefix.positions,
      task: opts.task ?? meta.task,
    });
    const labels = model.task!.labels;
    if (labels.join("\u0000") !== meta.labels.join("\u0000")) {
      model.dispose();
      throw new Error(
        `${file}: the prefix was trained for labels ${JSON.stringify(meta.labels)}, task '${model.task!.name}' has ${JSON.stringify(labels)}`,
      );
    }
    model.prefixEncoder().assignTable(prefix.collapse());
    return model;
  } finally {
    prefix.dispose();
  }
}

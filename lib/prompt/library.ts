/**
 * A reusable library of trained prompts: a folder of prompt files (prompt-file.ts) plus an index.json listing
 * each entry's task, settings, metrics and backbone, so a user can find "the best yelp prompt for kit-small"
 * without loading every file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeJsonAtomic } from "../io/atomic-write";
import { loadPrompt, PromptMeta, savePrompt } from "./prompt-file";
import type { PromptSet } from "./soft-prompt";

export interface LibraryEntry extends PromptMeta {
  readonly id: string;
  readonly file: string;
  readonly savedAt: string;
}

export class PromptLibrary {
  constructor(readonly dir: string) {}

  private indexPath(): string {
    return path.join(this.dir, "index.json");
  }

  list(filter: { task?: string; backbone?: string } = {}): LibraryEntry[] {
    if (!fs.existsSync(this.indexPath())) return [];
    const entries = JSON.parse(fs.readFileSync(this.indexPath(), "utf8")) as LibraryEntry[];
    return entries.filter((e) => (!filter.task || e.task === filter.task) && (!filter.backbone || e.backbone.name === filter.backbone));
  }

  /** Adds a trained prompt; returns its entry. The id is derived from task, backbone and settings plus a counter. */
  add(prompts: PromptSet, meta: PromptMeta): LibraryEntry {
    fs.mkdirSync(this.dir, { recursive: true });
    const entries = this.list();
    const base = `${meta.task}-${meta.backbone.name}-${meta.settings.position}-${meta.settings.length}-${meta.settings.init}`.replace(/[^A-Za-z0-9_.+-]/g, "_");
    let id = base;
    for (let k = 2; entries.some((e) => e.id === id); k++) id = `${base}-${k}`;
    const file = `${id}.safetensors`;
    savePrompt(path.join(this.dir, file), prompts, meta);
    const entry: LibraryEntry = { ...meta, id, file, savedAt: new Date().toISOString() };
    writeJsonAtomic(this.indexPath(), [...entries, entry]);
    return entry;
  }

  /** The entry with the highest value of `metric` for a task on a backbone, or null. */
  best(task: string, backbone: string, metric = "accuracy"): LibraryEntry | null {
    const cands = this.list({ task, backbone }).filter((e) => typeof e.metrics[metric] === "number");
    return cands.sort((a, b) => b.metrics[metric]! - a.metrics[metric]!)[0] ?? null;
  }

  load(id: string, backbone: { name: string; fingerprint: string; width: number }) {
    const e = this.list().find((x) => x.id === id);
    if (!e) throw new Error(`${this.indexPath()}: no prompt with id '${id}'`);
    return loadPrompt(path.join(this.dir, e.file), backbone);
  }
}

/**
 * A reusable library of trained prompts: a folder of prompt files (prompt-file.ts) plus an index listing each
 * entry's task, settings, metrics and backbone, so a user can find "the best yelp prompt for kit-small" without
 * loading every file.
 *
 * Several processes may add to one library at once, and every entry is kept:
 * - an entry's id (and file name) is reserved by creating its file exclusively (O_EXCL): two writers can never
 *   pick the same id, so no prompt file is overwritten;
 * - the index is append-only JSON Lines (index.jsonl): each entry is one line written in a single O_APPEND write,
 *   so concurrent additions never lose each other's lines.
 * Libraries written before this layout keep their index.json; its entries are read first, and new entries go to
 * index.jsonl.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { appendJsonl, readJsonl } from "../io/jsonl";
import { loadPrompt, LoadedPrompt, PromptBackbone, PromptMeta, savePrompt } from "./prompt-file";
import type { PromptSet } from "./soft-prompt";

export interface LibraryEntry extends PromptMeta {
  readonly id: string;
  readonly file: string;
  readonly savedAt: string;
}

/** Tries this many ids (base, base-2, ...) before giving up. */
const MAX_IDS = 100_000;

export class PromptLibrary {
  constructor(readonly dir: string) {}

  /** The append-only index (one entry per line). */
  indexPath(): string {
    return path.join(this.dir, "index.jsonl");
  }

  /** The index of libraries written before the append-only layout (read, never written). */
  private legacyIndexPath(): string {
    return path.join(this.dir, "index.json");
  }

  list(filter: { task?: string; backbone?: string } = {}): LibraryEntry[] {
    const legacy = this.legacyIndexPath();
    const entries: LibraryEntry[] = [];
    if (fs.existsSync(legacy)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(fs.readFileSync(legacy, "utf8"));
      } catch (err) {
        throw new Error(`${legacy}: not valid JSON: ${(err as Error).message}`);
      }
      if (!Array.isArray(parsed)) throw new Error(`${legacy}: expected a JSON array of entries`);
      entries.push(...(parsed as LibraryEntry[]));
    }
    entries.push(...readJsonl<LibraryEntry>(this.indexPath(), { allowMissing: true }).map((e) => e.record));
    return entries.filter(
      (e) => (!filter.task || e.task === filter.task) && (!filter.backbone || e.backbone.name === filter.backbone),
    );
  }

  /**
   * Adds a trained prompt (one prompt set, or a deep prompt's per-layer sets, input layer first); returns its
   * entry. The id is derived from task, backbone and settings, plus a counter when taken.
   */
  add(prompts: PromptSet | readonly PromptSet[], meta: PromptMeta): LibraryEntry {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      throw new Error(`${this.dir}: cannot create the prompt library folder: ${(err as Error).message}`);
    }
    const base =
      `${meta.task}-${meta.backbone.name}-${meta.settings.position}-${meta.settings.length}-${meta.settings.init}`.replace(
        /[^A-Za-z0-9_.+-]/g,
        "_",
      );
    const id = this.reserveId(base);
    const file = `${id}.safetensors`;
    try {
      savePrompt(path.join(this.dir, file), prompts, meta);
    } catch (err) {
      fs.rmSync(path.join(this.dir, file), { force: true }); // the empty reservation
      throw err;
    }
    const entry: LibraryEntry = { ...meta, id, file, savedAt: new Date().toISOString() };
    appendJsonl(this.indexPath(), entry);
    return entry;
  }

  /** Creates `<id>.safetensors` exclusively for the first free id: base, base-2, base-3, ... */
  private reserveId(base: string): string {
    const listed = new Set(this.list().map((e) => e.id));
    for (let k = 1; k <= MAX_IDS; k++) {
      const id = k === 1 ? base : `${base}-${k}`;
      if (listed.has(id)) continue;
      try {
        fs.closeSync(fs.openSync(path.join(this.dir, `${id}.safetensors`), "wx"));
        return id;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST")
          throw new Error(`${this.dir}: cannot create prompt file for '${id}': ${(err as Error).message}`);
      }
    }
    throw new Error(`${this.dir}: ${MAX_IDS} prompts named '${base}' already exist`);
  }

  /** The entry with the highest value of `metric` for a task on a backbone, or null. */
  best(task: string, backbone: string, metric = "accuracy"): LibraryEntry | null {
    const cands = this.list({ task, backbone }).filter((e) => typeof e.metrics[metric] === "number");
    return cands.sort((a, b) => b.metrics[metric]! - a.metrics[metric]!)[0] ?? null;
  }

  load(id: string, backbone: PromptBackbone): LoadedPrompt {
    const e = this.list().find((x) => x.id === id);
    if (!e) throw new Error(`${this.dir}: no prompt with id '${id}'`);
    return loadPrompt(path.join(this.dir, e.file), backbone);
  }
}

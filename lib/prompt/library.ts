/**
 * A reusable library of trained prompts: a folder of prompt files (prompt-file.ts) plus an index listing each
 * entry's task, settings, metrics and backbone, so a user can find "the best yelp prompt for kit-small" without
 * loading every file (`search` by task, backbone name or fingerprint, method, metric and date).
 *
 * Several processes may add to one library at once, and every entry is kept:
 * - an entry's id (and file name) is reserved by creating its file exclusively (O_EXCL): two writers can never
 *   pick the same id, so no prompt file is overwritten unless the caller names the entry and asks to overwrite;
 * - the index is append-only JSON Lines (index.jsonl): each entry is one line written in a single O_APPEND write,
 *   so concurrent additions never lose each other's lines, and a crash mid-write leaves at most a torn last line,
 *   which readers skip (naming the file and line) and the next writer cuts off. Prompt files themselves are
 *   written atomically (temp file + rename).
 * - a damaged index line or an entry with missing fields is named in a warning and skipped: the rest still loads.
 *   An entry added again under the same id (overwrite) supersedes the earlier line.
 * Libraries written before this layout keep their index.json; its entries are read first, and new entries go to
 * index.jsonl.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { appendJsonl, readJsonl } from "../io/jsonl";
import { describe, isPlainObject } from "../io/validate";
import { loadPrompt, LoadedPrompt, PromptBackbone, PromptMeta, readPromptMeta, savePrompt } from "./prompt-file";
import type { PromptSet } from "./soft-prompt";

export interface LibraryEntry extends PromptMeta {
  readonly id: string;
  readonly file: string;
  readonly savedAt: string;
}

/** What `search` matches; every given field must hold. */
export interface LibraryQuery {
  readonly task?: string;
  /** backbone name, e.g. "kit-small". */
  readonly backbone?: string;
  /** the backbone weights' fingerprint, or a prefix of it (e.g. "sha256:3f2a"). */
  readonly fingerprint?: string;
  /** tuning method recorded with the prompt (extra.method), e.g. "prompt-tuning". */
  readonly method?: string;
  /** keep entries that recorded this metric (within [min, max] when given); results sort by it, best first. */
  readonly metric?: string;
  readonly min?: number;
  readonly max?: number;
  /** saved at or after this date (ISO 8601, e.g. "2026-11-30" or "2026-11-30T12:00:00Z"). */
  readonly since?: string;
  /** saved before this date. */
  readonly until?: string;
}

export interface AddOptions {
  /** the entry's id and file name (letters, digits, '.', '_', '+', '-'); default: derived from task and settings. */
  readonly name?: string;
  /** replace an existing entry of that name (default false: refuse). */
  readonly overwrite?: boolean;
}

export interface LibraryOptions {
  /** receives warnings about skipped index lines (default console.warn). */
  readonly onWarning?: (message: string) => void;
}

/** Tries this many ids (base, base-2, ...) before giving up. */
const MAX_IDS = 100_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}$/;

/** Throws unless `name` is a safe entry name: no path separators, no '..', nothing that leaves the folder. */
export function checkEntryName(name: unknown, where = "prompt name"): string {
  if (
    typeof name !== "string" ||
    name.includes("/") ||
    name.includes("\\") ||
    name.includes("..") ||
    !NAME.test(name)
  ) {
    throw new Error(
      `${where} must be 1-200 letters, digits, '.', '_', '+' or '-', starting with a letter or digit, without path ` +
        `separators or '..' (it names a file inside the library), got ${describe(name)}`,
    );
  }
  return name;
}

/** The reason an index record is not a usable entry, or null. */
function entryProblem(r: unknown): string | null {
  if (!isPlainObject(r)) return `expected an object, got ${describe(r)}`;
  for (const k of ["id", "file", "task", "savedAt"])
    if (typeof r[k] !== "string") return `field '${k}' must be a string, got ${describe(r[k])}`;
  const b = r["backbone"];
  if (!isPlainObject(b) || typeof b["name"] !== "string" || typeof b["fingerprint"] !== "string")
    return `field 'backbone' must be { name, fingerprint }, got ${describe(b)}`;
  if (!isPlainObject(r["settings"])) return `field 'settings' must be an object, got ${describe(r["settings"])}`;
  if (!isPlainObject(r["metrics"])) return `field 'metrics' must be an object, got ${describe(r["metrics"])}`;
  if (!Array.isArray(r["labels"])) return `field 'labels' must be an array, got ${describe(r["labels"])}`;
  const id = r["id"] as string;
  if (!NAME.test(id) || id.includes("..")) return `field 'id' ${describe(id)} is not a safe entry name`;
  if (r["file"] !== `${id}.safetensors`) return `field 'file' must be '${id}.safetensors', got ${describe(r["file"])}`;
  return null;
}

function dateOf(v: string, where: string): number {
  const t = Date.parse(v);
  if (typeof v !== "string" || Number.isNaN(t))
    throw new Error(`${where} must be an ISO 8601 date such as "2026-11-30", got ${describe(v)}`);
  return t;
}

export class PromptLibrary {
  private readonly warn: (message: string) => void;

  constructor(
    readonly dir: string,
    opts: LibraryOptions = {},
  ) {
    this.warn = opts.onWarning ?? ((m) => console.warn(m));
  }

  /** The append-only index (one entry per line). */
  indexPath(): string {
    return path.join(this.dir, "index.jsonl");
  }

  /** The index of libraries written before the append-only layout (read, never written). */
  private legacyIndexPath(): string {
    return path.join(this.dir, "index.json");
  }

  /** Every usable entry (the last line wins for an id added twice); damaged lines are named and skipped. */
  private entries(): LibraryEntry[] {
    const legacy = this.legacyIndexPath();
    const raw: { where: string; record: unknown }[] = [];
    if (fs.existsSync(legacy)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(fs.readFileSync(legacy, "utf8"));
      } catch (err) {
        throw new Error(`${legacy}: not valid JSON: ${(err as Error).message}`);
      }
      if (!Array.isArray(parsed)) throw new Error(`${legacy}: expected a JSON array of entries`);
      parsed.forEach((r, i) => raw.push({ where: `${legacy} entry ${i}`, record: r }));
    }
    const index = this.indexPath();
    for (const e of readJsonl(index, { allowMissing: true, onBadLine: "skip", onWarning: this.warn }))
      raw.push({ where: `${index}:${e.line}`, record: e.record });
    const byId = new Map<string, LibraryEntry>();
    for (const { where, record } of raw) {
      const problem = entryProblem(record);
      if (problem !== null) {
        this.warn(`${where}: skipping a damaged library entry (${problem})`);
        continue;
      }
      const e = record as LibraryEntry;
      byId.delete(e.id); // re-added (overwritten) entries move to their latest position
      byId.set(e.id, e);
    }
    return [...byId.values()];
  }

  list(filter: { task?: string; backbone?: string } = {}): LibraryEntry[] {
    return this.search(filter);
  }

  /** Entries matching every field of `q`; sorted by `q.metric` (best first) when given, else in saving order. */
  search(q: LibraryQuery = {}): LibraryEntry[] {
    const since = q.since === undefined ? null : dateOf(q.since, "library search: since");
    const until = q.until === undefined ? null : dateOf(q.until, "library search: until");
    for (const k of ["min", "max"] as const) {
      if (q[k] !== undefined && !Number.isFinite(q[k]))
        throw new Error(`library search: ${k} must be a finite number, got ${describe(q[k])}`);
      if (q[k] !== undefined && q.metric === undefined)
        throw new Error(`library search: ${k} needs a metric to compare (e.g. metric: "accuracy")`);
    }
    const out = this.entries().filter((e) => {
      if (q.task !== undefined && e.task !== q.task) return false;
      if (q.backbone !== undefined && e.backbone.name !== q.backbone) return false;
      if (q.fingerprint !== undefined && !e.backbone.fingerprint.startsWith(q.fingerprint)) return false;
      if (q.method !== undefined && (e.extra?.["method"] ?? "prompt-tuning") !== q.method) return false;
      const t = Date.parse(e.savedAt);
      if (since !== null && !(t >= since)) return false;
      if (until !== null && !(t < until)) return false;
      if (q.metric !== undefined) {
        const v = e.metrics[q.metric];
        if (typeof v !== "number") return false;
        if (q.min !== undefined && v < q.min) return false;
        if (q.max !== undefined && v > q.max) return false;
      }
      return true;
    });
    if (q.metric !== undefined) out.sort((a, b) => b.metrics[q.metric!]! - a.metrics[q.metric!]!);
    return out;
  }

  /** The entry with id `id`, or an error naming the library and the ids it has. */
  entry(id: string): LibraryEntry {
    const all = this.entries();
    const e = all.find((x) => x.id === id);
    if (!e) {
      const ids = all.map((x) => x.id);
      throw new Error(
        `${this.dir}: no prompt with id '${id}' (${ids.length} entries${ids.length > 0 ? `: ${ids.slice(0, 8).join(", ")}${ids.length > 8 ? ", ..." : ""}` : ""})`,
      );
    }
    return e;
  }

  /**
   * Adds a trained prompt (one prompt set, or a deep prompt's per-layer sets, input layer first); returns its
   * entry. The id is `opts.name`, or derived from task, backbone and settings plus a counter when taken. A named
   * entry that exists is refused unless `opts.overwrite`.
   */
  add(prompts: PromptSet | readonly PromptSet[], meta: PromptMeta, opts: AddOptions = {}): LibraryEntry {
    const name = opts.name === undefined ? null : checkEntryName(opts.name);
    try {
      fs.mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      throw new Error(`${this.dir}: cannot create the prompt library folder: ${(err as Error).message}`);
    }
    let id: string;
    let reserved = false;
    if (name === null) {
      const base =
        `${meta.task}-${meta.backbone.name}-${meta.settings.position}-${meta.settings.length}-${meta.settings.init}`
          .replace(/[^A-Za-z0-9_.+-]/g, "_")
          .replace(/\.\.+/g, "_");
      id = this.reserveId(base);
      reserved = true;
    } else {
      id = name;
      if (!opts.overwrite) {
        const taken = this.entries().find((e) => e.id === id);
        if (taken)
          throw new Error(
            `${this.dir}: a prompt named '${id}' already exists (task ${taken.task}, saved ${taken.savedAt}); refusing to overwrite it unless asked (overwrite: true, CLI --overwrite)`,
          );
        reserved = this.tryReserve(id);
        if (!reserved)
          throw new Error(
            `${path.join(this.dir, `${id}.safetensors`)}: already exists; refusing to overwrite it unless asked (overwrite: true, CLI --overwrite)`,
          );
      }
    }
    const file = `${id}.safetensors`;
    try {
      savePrompt(path.join(this.dir, file), prompts, meta);
    } catch (err) {
      if (reserved) fs.rmSync(path.join(this.dir, file), { force: true }); // the empty reservation
      throw err;
    }
    const entry: LibraryEntry = { ...meta, id, file, savedAt: new Date().toISOString() };
    appendJsonl(this.indexPath(), entry, { onWarning: this.warn });
    return entry;
  }

  /** Creates `<id>.safetensors` exclusively; false when it exists. */
  private tryReserve(id: string): boolean {
    try {
      fs.closeSync(fs.openSync(path.join(this.dir, `${id}.safetensors`), "wx"));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw new Error(`${this.dir}: cannot create prompt file for '${id}': ${(err as Error).message}`);
    }
  }

  /** Creates `<id>.safetensors` exclusively for the first free id: base, base-2, base-3, ... */
  private reserveId(base: string): string {
    const listed = new Set(this.entries().map((e) => e.id));
    for (let k = 1; k <= MAX_IDS; k++) {
      const id = k === 1 ? base : `${base}-${k}`;
      if (listed.has(id)) continue;
      if (this.tryReserve(id)) return id;
    }
    throw new Error(`${this.dir}: ${MAX_IDS} prompts named '${base}' already exist`);
  }

  /** The entry with the highest value of `metric` for a task on a backbone, or null. */
  best(task: string, backbone: string, metric = "accuracy"): LibraryEntry | null {
    return this.search({ task, backbone, metric })[0] ?? null;
  }

  /** Path of an entry's prompt file. */
  fileOf(id: string): string {
    return path.join(this.dir, this.entry(id).file);
  }

  load(id: string, backbone: PromptBackbone): LoadedPrompt {
    return loadPrompt(this.fileOf(id), backbone);
  }

  /** Reads every entry's file header: entries whose file is missing or damaged are named with the problem. */
  verify(): { ok: LibraryEntry[]; bad: { id: string; file: string; problem: string }[] } {
    const ok: LibraryEntry[] = [];
    const bad: { id: string; file: string; problem: string }[] = [];
    for (const e of this.entries()) {
      const file = path.join(this.dir, e.file);
      try {
        readPromptMeta(file);
        ok.push(e);
      } catch (err) {
        bad.push({ id: e.id, file, problem: (err as Error).message });
      }
    }
    return { ok, bad };
  }
}

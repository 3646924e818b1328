/** Shared fixtures for lib/notebook tests: a display sink that records outputs, a text stream, temp roots. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DisplaySink, SinkKind } from "../../lib/viz/display";
import type { MimeBundle } from "../../lib/viz/mime";

/** Records every show/update, like a notebook would receive them. */
export class RecordingSink implements DisplaySink {
  readonly shown: { id?: string; bundle: MimeBundle }[] = [];
  readonly updates: { id: string; bundle: MimeBundle }[] = [];
  constructor(readonly kind: SinkKind = "jupyter") {}
  show(bundle: MimeBundle, id?: string): void {
    this.shown.push({ id, bundle });
  }
  update(bundle: MimeBundle, id: string): void {
    this.updates.push({ id, bundle });
  }
  /** text/html of every output and update, in order. */
  html(): string {
    return [...this.shown, ...this.updates].map((o) => String(o.bundle["text/html"] ?? "")).join("\n");
  }
}

/** A stream collecting what is written to it. */
export class TextStream {
  text = "";
  readonly isTTY = false;
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

/** A fresh temporary directory (removed by the OS eventually; tests remove it when they can). */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Copies a checkpoint folder to <root>/models/<name>. */
export function installCheckpoint(from: string, root: string, name: string): string {
  const to = path.join(root, "models", name);
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(to, f));
  return to;
}

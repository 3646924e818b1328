/** Helpers shared by the knowledge-inheritance experiment tests. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { TimedCurvePoint } from "../../lib/pretrain/ki-run-summary";

const tempDirs: string[] = [];

/** A new temporary folder, removed by removeTempDirs. */
export function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** The value of `--flag` in an argument list. */
export function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? undefined : args[i + 1];
}

export function curve(points: [number, number, number][]): TimedCurvePoint[] {
  return points.map(([step, valLoss, seconds]) => ({ step, valLoss, seconds }));
}

/**
 * Download progress on stderr: a redrawn bar per file when the stream is a terminal, else one line per file when it
 * completes (logs and CI stay readable), or nothing.
 */

export type ProgressMode = "auto" | "bar" | "lines" | "none";

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface FileProgress {
  /** `n` more bytes arrived. */
  advance(n: number): void;
  /** Back to `bytes` (a restart from 0, or a resume). */
  reset(bytes: number): void;
  /** The file is complete (or failed). */
  end(ok: boolean): void;
}

export interface Progress {
  /** Starts a file of `total` bytes (null: unknown) of which `already` are on disk. */
  file(label: string, total: number | null, already: number): FileProgress;
}

export function mb(bytes: number): string {
  return bytes < 1 << 20 ? `${(bytes / 1024).toFixed(1)} kB` : `${(bytes / (1 << 20)).toFixed(1)} MB`;
}

export function makeProgress(mode: ProgressMode = "auto", stream: ProgressStream = process.stderr): Progress {
  const kind = mode === "auto" ? (stream.isTTY ? "bar" : "lines") : mode;
  return {
    file(label, total, already) {
      const t0 = Date.now();
      let bytes = already;
      let lastDraw = 0;
      const draw = (force: boolean): void => {
        if (kind !== "bar") return;
        const now = Date.now();
        if (!force && now - lastDraw < 100) return;
        lastDraw = now;
        const secs = Math.max((now - t0) / 1000, 1e-3);
        const rate = `${mb((bytes - already) / secs)}/s`;
        if (total !== null && total > 0) {
          const frac = Math.min(1, bytes / total);
          const width = 24;
          const full = Math.round(frac * width);
          const bar = "#".repeat(full) + ".".repeat(width - full);
          stream.write(
            `\r${label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${mb(bytes)}/${mb(total)} ${rate}  `,
          );
        } else stream.write(`\r${label} ${mb(bytes)} ${rate}  `);
      };
      if (kind === "lines" && already > 0) stream.write(`${label}: resuming at ${mb(already)}\n`);
      draw(true);
      return {
        advance(n) {
          bytes += n;
          draw(false);
        },
        reset(b) {
          bytes = b;
          draw(true);
        },
        end(ok) {
          if (kind === "none") return;
          if (kind === "bar") {
            draw(true);
            stream.write(ok ? "\n" : " failed\n");
          } else if (ok) stream.write(`${label}: ${mb(bytes)} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        },
      };
    },
  };
}

/**
 * One downloader per blob: two processes (or two calls) fetching the same file must not append to the same
 * blobs/<etag>.incomplete. The holder creates blobs/<etag>.kit-lock exclusively ("host pid" inside); others wait
 * for it to go, then find the blob present. A lock is stale when its process is gone (same host), or when neither
 * the lock nor the partial download has changed for `staleMs` (another host sharing the cache, or a hang).
 * (huggingface_hub locks with flock on .locks/...; its lock files linger when free, so the kit uses its own name.)
 */
import * as fs from "node:fs";
import * as os from "node:os";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function mtimeMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function isStale(lock: string, partial: string, staleMs: number): boolean {
  let text: string;
  try {
    text = fs.readFileSync(lock, "utf8");
  } catch {
    return false; // just released
  }
  const [host, pidText] = text.trim().split(" ");
  if (host === os.hostname() && pidText !== undefined && /^\d+$/.test(pidText) && !alive(Number(pidText))) return true;
  return Date.now() - Math.max(mtimeMs(lock), mtimeMs(partial)) > staleMs;
}

/** Runs `fn` holding the lock of `blob`. */
export async function withBlobLock<T>(blob: string, fn: () => Promise<T>, staleMs = 120_000): Promise<T> {
  const lock = `${blob}.kit-lock`;
  for (;;) {
    try {
      fs.writeFileSync(lock, `${os.hostname()} ${process.pid}\n`, { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (isStale(lock, `${blob}.incomplete`, staleMs)) fs.rmSync(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

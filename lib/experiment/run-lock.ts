/**
 * One writer per results file: a lock file next to it (`<results>.lock`, created with O_EXCL) that
 * holds the owner's pid, host and start time. A lock whose process is gone (killed run) is taken
 * over with a warning, so a killed run can always be resumed; a live owner is an error that says
 * which process holds it and how to clear it by hand.
 *
 * Limits: liveness is checked with kill(pid, 0), so only locks taken on this host can be judged
 * stale (a lock from another host is always reported as held), and a recycled pid would look alive.
 */
import * as fs from "node:fs";
import * as os from "node:os";

interface LockContent {
  pid: number;
  host: string;
  startedAt: string;
  purpose: string;
}

/** An unparseable lock younger than this may be one being written right now. */
const FRESH_MS = 10_000;

/**
 * Takes the lock at `lockPath` for this process or throws. Returns the release function (which
 * removes the lock only if it is still ours).
 */
export function acquireLock(
  lockPath: string,
  purpose: string,
  onWarning: (m: string) => void = (m) => console.warn(m),
): () => void {
  const mine: LockContent = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), purpose };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(lockPath, "wx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST")
        throw new Error(`cannot create lock ${lockPath}: ${(err as Error).message}`);
      const stale = staleReason(lockPath);
      if (stale === null) continue; // vanished meanwhile: retry
      if (typeof stale !== "string") throw stale;
      onWarning(`${lockPath}: taking over stale lock (${stale})`);
      try {
        fs.unlinkSync(lockPath);
      } catch {
        // someone else removed it first: retry the exclusive create
      }
      continue;
    }
    try {
      fs.writeSync(fd, JSON.stringify(mine) + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return () => {
      try {
        const now = JSON.parse(fs.readFileSync(lockPath, "utf8")) as LockContent;
        if (now.pid === mine.pid && now.startedAt === mine.startedAt) fs.unlinkSync(lockPath);
      } catch {
        // already gone or replaced: nothing of ours to release
      }
    };
  }
  throw new Error(`cannot take lock ${lockPath}: it keeps reappearing (another process is competing for it)`);
}

/** null: lock vanished; string: why it is stale; Error: it is held (the error to throw). */
function staleReason(lockPath: string): string | Error | null {
  let text: string;
  let mtimeMs: number;
  try {
    text = fs.readFileSync(lockPath, "utf8");
    mtimeMs = fs.statSync(lockPath).mtimeMs;
  } catch {
    return null;
  }
  let owner: LockContent;
  try {
    owner = JSON.parse(text) as LockContent;
    if (!Number.isInteger(owner.pid) || typeof owner.host !== "string") throw new Error("bad fields");
  } catch {
    if (Date.now() - mtimeMs > FRESH_MS) return "unreadable lock file older than 10 s";
    return new Error(
      `${lockPath} is being created by another process; retry shortly (or delete it if no run is active)`,
    );
  }
  const who = `process ${owner.pid} on ${owner.host} (${owner.purpose}, since ${owner.startedAt})`;
  const held = new Error(
    `${lockPath} is held by ${who}: only one run may write these results at a time. If that process is gone, delete ${lockPath}.`,
  );
  if (owner.host !== os.hostname()) return held;
  if (owner.pid === process.pid) {
    return new Error(
      `${lockPath} is held by this same process (${owner.purpose}, since ${owner.startedAt}): another run on these results is still active here`,
    );
  }
  if (processAlive(owner.pid)) return held;
  return `${who} is no longer running`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Atomic file replacement: readers of `path` see either the old complete file or the new complete
 * file, never a half-written one, even if the process is killed mid-write.
 *
 * Recipe: write to a uniquely named temp file in the same directory (so the rename stays on one
 * filesystem), fsync it, rename it over `path`, then fsync the directory so the rename itself is
 * durable. If anything fails before the rename, the temp file is removed and `path` is untouched.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";

/** What `writeFileAtomic` accepts: a string (written as UTF-8), bytes, or a sequence of byte chunks. */
export type AtomicWriteData = string | Uint8Array | Iterable<Uint8Array>;

/**
 * Atomically replace (or create) the file at `filePath` with `data`.
 *
 * `data` may be an iterable of chunks (e.g. a generator), so large outputs need not be concatenated
 * in memory; if the iterable throws, the error propagates and the previous file is left intact.
 * The parent directory must exist. New files get mode 0o666 minus the umask; an existing file's
 * permission bits are kept.
 */
export function writeFileAtomic(filePath: string, data: AtomicWriteData): void {
  const dir = path.dirname(path.resolve(filePath));
  const tmp = path.join(dir, `.${path.basename(filePath)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let keepMode: number | undefined;
  try {
    keepMode = fs.statSync(filePath).mode & 0o7777;
  } catch {
    // new file: default mode
  }
  let fd: number | undefined;
  let renamed = false;
  try {
    try {
      fd = fs.openSync(tmp, "wx", 0o666);
    } catch (err) {
      throw new Error(`writeFileAtomic: cannot create temp file next to ${filePath}: ${(err as Error).message}`);
    }
    if (keepMode !== undefined) fs.fchmodSync(fd, keepMode);
    if (typeof data === "string") writeAll(fd, Buffer.from(data, "utf8"));
    else if (data instanceof Uint8Array) writeAll(fd, data);
    else for (const chunk of data) writeAll(fd, chunk);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, filePath);
    renamed = true;
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing; keep the original error
      }
    }
    if (!renamed) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // temp file may never have been created
      }
    }
  }
  fsyncDir(dir);
}

/** Atomically write `value` as pretty JSON (2-space indent) with a trailing newline. */
export function writeJsonAtomic(filePath: string, value: unknown): void {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, 2);
  } catch (err) {
    throw new Error(`writeJsonAtomic(${filePath}): value is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (text === undefined) {
    throw new Error(`writeJsonAtomic(${filePath}): value of type ${typeof value} is not JSON-serialisable`);
  }
  writeFileAtomic(filePath, text + "\n");
}

/** Write every byte of `bytes` (writeSync may write fewer bytes than asked). */
function writeAll(fd: number, bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) {
    throw new Error(`writeFileAtomic: chunks must be Uint8Array, got ${Object.prototype.toString.call(bytes)}`);
  }
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/** Make a rename in `dir` durable. Best effort: some platforms/filesystems cannot fsync a directory. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // e.g. Windows (EISDIR/EPERM): the rename is still atomic, only its durability is weaker
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * The reading thread of range-reader.ts: reads byte ranges of one file into a slot of shared memory and flags
 * the slot done (or failed), waking the main thread if it waits. Before and after each batch of reads it checks
 * that the file on disk (by path) still has the size, mtime and inode it had when it was opened, so a file
 * rewritten or replaced while experts are offloaded is reported rather than read.
 */
import * as fs from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { SLOT, type ReadJob, type ReaderShared } from "./range-reader-protocol";

const shared = workerData as ReaderShared;
const control = new Int32Array(shared.control);
const data = new Uint8Array(shared.data);

function unchanged(): boolean {
  try {
    const st = fs.statSync(shared.file, { bigint: false });
    return st.size === shared.size && st.mtimeMs === shared.mtimeMs && st.ino === shared.ino;
  } catch {
    return false;
  }
}

function finish(slot: number, state: number): void {
  Atomics.store(control, slot, state);
  Atomics.notify(control, slot);
}

parentPort!.on("message", (job: ReadJob) => {
  const { slot, ranges } = job;
  try {
    if (!unchanged()) return finish(slot, SLOT.changed);
    const base = slot * shared.slotBytes;
    for (const r of ranges) {
      let done = 0;
      while (done < r.length) {
        const got = fs.readSync(shared.fd, data, base + r.into + done, r.length - done, r.position + done);
        if (got === 0) return finish(slot, SLOT.short);
        done += got;
      }
    }
    finish(slot, unchanged() ? SLOT.done : SLOT.changed);
  } catch {
    finish(slot, SLOT.failed);
  }
});

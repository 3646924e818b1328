/**
 * Reads byte ranges of one file on a separate thread, into a few fixed slots of shared memory, so the main
 * thread keeps computing while the bytes arrive and blocks (Atomics.wait) only when it needs a slot that is not
 * ready yet. Synchronous callers (a model's forward pass) therefore get overlapped reads without becoming async.
 *
 *   submit(slot, ranges)  starts reading; returns at once
 *   ready(slot)           whether the slot's bytes are there (never blocks)
 *   wait(slot)            blocks until they are, then returns a view of the slot (valid until the next submit)
 *
 * The file's size, mtime and inode are recorded at open; a read that finds them changed (the file was rewritten
 * or replaced on disk) fails with an error naming the file instead of returning its new bytes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { SLOT, type ReadRange, type ReaderShared } from "./range-reader-protocol";

export type { ReadRange } from "./range-reader-protocol";

export class RangeReader {
  readonly file: string;
  readonly slots: number;
  readonly slotBytes: number;
  private readonly fd: number;
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  private readonly worker: Worker;
  private closed = false;

  constructor(file: string, slots: number, slotBytes: number) {
    this.file = file;
    this.slots = slots;
    this.slotBytes = slotBytes;
    this.fd = fs.openSync(file, "r");
    const st = fs.fstatSync(this.fd);
    const controlBuf = new SharedArrayBuffer(4 * slots);
    const dataBuf = new SharedArrayBuffer(slots * slotBytes);
    this.control = new Int32Array(controlBuf);
    this.data = new Uint8Array(dataBuf);
    const shared: ReaderShared = {
      file: path.resolve(file),
      fd: this.fd,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      slotBytes,
      control: controlBuf,
      data: dataBuf,
    };
    this.worker = new Worker(path.join(__dirname, "range-reader-worker.js"), { workerData: shared });
    this.worker.unref();
  }

  /** Starts reading `ranges` into `slot` (which must not be pending). */
  submit(slot: number, ranges: readonly ReadRange[]): void {
    if (this.closed) throw new Error(`${this.file}: reader closed`);
    if (Atomics.load(this.control, slot) === SLOT.pending) throw new Error(`range reader: slot ${slot} is busy`);
    for (const r of ranges) {
      if (r.into < 0 || r.into + r.length > this.slotBytes)
        throw new Error(`range reader: ${r.length} bytes at ${r.into} do not fit a ${this.slotBytes}-byte slot`);
    }
    Atomics.store(this.control, slot, SLOT.pending);
    this.worker.postMessage({ slot, ranges });
  }

  /** Whether the slot's last submit has finished (successfully or not). */
  ready(slot: number): boolean {
    return Atomics.load(this.control, slot) !== SLOT.pending;
  }

  /** Blocks until the slot's reads are done; returns the slot's bytes, or throws naming the file. */
  wait(slot: number): Uint8Array {
    while (Atomics.load(this.control, slot) === SLOT.pending) Atomics.wait(this.control, slot, SLOT.pending, 10_000);
    const state = Atomics.load(this.control, slot);
    Atomics.store(this.control, slot, SLOT.free);
    if (state === SLOT.changed)
      throw new Error(
        `${this.file}: the file changed on disk (size, mtime or inode differ from when it was opened) while its ` +
          `experts are offloaded: refusing to read weights from it; load the model again`,
      );
    if (state === SLOT.short) throw new Error(`${this.file}: the file ended before an expert's bytes (truncated?)`);
    if (state !== SLOT.done) throw new Error(`${this.file}: reading an expert's bytes failed`);
    return this.data.subarray(slot * this.slotBytes, (slot + 1) * this.slotBytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.worker.terminate();
    fs.closeSync(this.fd);
  }
}

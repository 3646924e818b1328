/** What range-reader.ts and its reading thread share: slot states, the job message, the shared buffers. */

/** State of a slot in the control array. */
export const SLOT = Object.freeze({ free: 0, pending: 1, done: 2, changed: 3, short: 4, failed: 5 });

export interface ReadRange {
  /** absolute byte position in the file, length in bytes, and where in the slot the bytes go. */
  readonly position: number;
  readonly length: number;
  readonly into: number;
}

export interface ReadJob {
  readonly slot: number;
  readonly ranges: readonly ReadRange[];
}

export interface ReaderShared {
  readonly file: string;
  readonly fd: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly slotBytes: number;
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
}

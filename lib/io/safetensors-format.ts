/** safetensors element types, in-memory tensor types and the error class (the file layout is in safetensors.ts). */
/** Element types this module reads and writes. */
export const SAFE_DTYPES = ["F32", "F16", "BF16", "I32", "I64", "U8", "BOOL"] as const;
export type SafeDType = (typeof SAFE_DTYPES)[number];

/** Bytes per element on disk. */
export const SAFE_DTYPE_BYTES: Readonly<Record<SafeDType, number>> = Object.freeze({
  F32: 4,
  F16: 2,
  BF16: 2,
  I32: 4,
  I64: 8,
  U8: 1,
  BOOL: 1,
});

/**
 * Position of each dtype in the reference implementation's `Dtype` enum (declared in increasing
 * alignment order); the writer lays tensors out in decreasing rank, then by name.
 */
export const REFERENCE_DTYPE_RANK: Readonly<Record<SafeDType, number>> = Object.freeze({
  BOOL: 0,
  U8: 1,
  F16: 7,
  BF16: 8,
  I32: 9,
  F32: 11,
  I64: 13,
});

/** Largest header accepted or written, as in the reference implementation (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export type FloatSafeTensor = { dtype: "F32" | "F16" | "BF16"; shape: number[]; data: Float32Array };
export type IntSafeTensor = { dtype: "I32" | "I64"; shape: number[]; data: Int32Array };
export type ByteSafeTensor = { dtype: "U8" | "BOOL"; shape: number[]; data: Uint8Array };
/** One tensor: on-disk dtype, shape (`[]` = scalar), and row-major elements (length = product of shape). */
export type SafeTensor = FloatSafeTensor | IntSafeTensor | ByteSafeTensor;

/** Header entry of one tensor (no data). */
export interface SafeTensorInfo {
  dtype: SafeDType;
  shape: number[];
  /** [begin, end) byte range within the data region. */
  dataOffsets: [number, number];
}

export interface SafetensorsContents {
  tensors: Record<string, SafeTensor>;
  /** String-to-string metadata ({} when the file has none). */
  metadata: Record<string, string>;
}

export interface SafetensorsHeader {
  tensors: Record<string, SafeTensorInfo>;
  metadata: Record<string, string>;
  /** N, the header length in bytes (data region starts at byte 8 + N). */
  headerBytes: number;
}

/** Any problem with a safetensors file or with tensors given to the writer. */
export class SafetensorsError extends Error {
  /** File path or label the problem is about. */
  readonly file: string;
  /** Tensor the problem is about, when there is one. */
  readonly tensor: string | undefined;

  constructor(file: string, tensor: string | undefined, detail: string) {
    super(tensor === undefined ? `${file}: ${detail}` : `${file}: tensor ${JSON.stringify(tensor)}: ${detail}`);
    this.name = "SafetensorsError";
    this.file = file;
    this.tensor = tensor;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/** Raw IEEE bits of a Float32Array (a view, no copy). */
export function float32Bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Validate a shape; returns its element count (1 for `[]`). */
export function checkShape(shape: unknown, fail: (msg: string) => never): number {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(`shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  let numel = 1;
  for (const d of shape as number[]) numel *= d;
  if (!Number.isSafeInteger(numel)) fail(`shape [${(shape as number[]).join(", ")}] has too many elements`);
  return numel;
}

/** Define an own enumerable property (safe even for keys like "__proto__"). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `array ${truncate(JSON.stringify(v))}`;
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (typeof v === "object") return `object ${truncate(safeJson(v))}`;
  if (typeof v === "string") return `string ${truncate(JSON.stringify(v))}`;
  return `${typeof v} ${String(v)}`;
}

export function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export function truncate(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max)}...`;
}

let hostChecked = false;
export function assertLittleEndianHost(): void {
  if (hostChecked) return;
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("safetensors: this module assumes a little-endian host (typed arrays are read as-is)");
  }
  hostChecked = true;
}

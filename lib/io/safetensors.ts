/**
 * Hugging Face safetensors: read and write with plain typed arrays (no tfjs), so checkpoints move
 * between this kit and PyTorch/JAX in both directions.
 *
 * File layout (all integers little-endian):
 *   [0, 8)        u64 N: byte length of the header
 *   [8, 8+N)      UTF-8 JSON header:
 *                   { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ...,
 *                     "__metadata__": { "<key>": "<string value>", ... } }   (metadata optional)
 *   [8+N, EOF)    data region; a tensor's bytes are data[begin, end), row-major (C order).
 *
 * In memory (`SafeTensor`):
 *   F32, F16, BF16 -> Float32Array (F16/BF16 are widened exactly on read; narrowed with
 *                     round-to-nearest-even on write, so F16/BF16 read -> write is bitwise)
 *   I32            -> Int32Array
 *   I64            -> Int32Array: read fails, naming tensor/index/value, if a value is outside int32
 *                     (tfjs has no int64 either); written back sign-extended to 8 bytes
 *   U8             -> Uint8Array
 *   BOOL           -> Uint8Array of 0/1 (any other byte is rejected on read and write)
 *
 * Writing follows the reference implementation (huggingface/safetensors, `prepare`): tensors sorted
 * by dtype (widest first, in the reference's dtype order) then by name (UTF-8 bytes), contiguous data,
 * compact JSON header with "__metadata__" first and keys in data order, padded with spaces to a
 * multiple of 8 bytes. Every tensor therefore starts at an offset aligned to its element size, and
 * equal inputs always give identical bytes.
 *
 * Reading is strict like the reference reader (tensors must tile the data region exactly, no gaps,
 * overlaps or trailing bytes) and every error names the file and, where there is one, the tensor.
 */
import * as fs from "node:fs";
import { writeFileAtomic } from "./atomic-write";
import { bf16BitsToF32, f16BitsToF32, f32BitsToBf16, f32BitsToF16 } from "./float16";

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
const REFERENCE_DTYPE_RANK: Readonly<Record<SafeDType, number>> = Object.freeze({
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

/**
 * Serialise tensors (+ optional string metadata) to safetensors bytes. Deterministic: the same
 * names, shapes, dtypes, element bits and metadata always give the same bytes.
 */
export function encodeSafetensors(
  tensors: Record<string, SafeTensor>,
  metadata?: Record<string, string>,
  label = "<encodeSafetensors>",
): Buffer {
  const chunks = [...safetensorsChunks(tensors, metadata, label)];
  return Buffer.concat(chunks);
}

/** Atomically write a safetensors file (temp file + fsync + rename), streaming tensor by tensor. */
export function writeSafetensorsFile(
  filePath: string,
  tensors: Record<string, SafeTensor>,
  metadata?: Record<string, string>,
): void {
  // Build (and validate) everything before the atomic writer creates its temp file.
  const chunks = [...safetensorsChunks(tensors, metadata, filePath)];
  writeFileAtomic(filePath, chunks);
}

/** The file as a list of byte chunks: 8-byte length, padded header, then each tensor's bytes. */
function safetensorsChunks(
  tensors: Record<string, SafeTensor>,
  metadata: Record<string, string> | undefined,
  label: string,
): Uint8Array[] {
  assertLittleEndianHost();
  if (typeof tensors !== "object" || tensors === null || Array.isArray(tensors)) {
    throw new SafetensorsError(label, undefined, `tensors must be an object of name -> tensor, got ${describe(tensors)}`);
  }
  const names = Object.keys(tensors);
  for (const name of names) checkTensorForWrite(name, tensors[name], label);
  const order = names
    .map((name) => ({ name, nameBytes: Buffer.from(name, "utf8"), t: tensors[name] as SafeTensor }))
    .sort(
      (a, b) =>
        REFERENCE_DTYPE_RANK[b.t.dtype] - REFERENCE_DTYPE_RANK[a.t.dtype] || Buffer.compare(a.nameBytes, b.nameBytes),
    );

  const parts: string[] = [];
  const metaEntries = metadataEntriesForWrite(metadata, label);
  if (metaEntries.length > 0) {
    parts.push(`"__metadata__":{${metaEntries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`);
  }
  const dataChunks: Uint8Array[] = [];
  let offset = 0;
  for (const { name, t } of order) {
    const bytes = tensorToBytes(t);
    const end = offset + bytes.byteLength;
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(",")}],"data_offsets":[${offset},${end}]}`,
    );
    dataChunks.push(bytes);
    offset = end;
  }
  let header = Buffer.from(`{${parts.join(",")}}`, "utf8");
  const pad = (8 - (header.length % 8)) % 8;
  if (pad > 0) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  if (header.length > MAX_HEADER_BYTES) {
    throw new SafetensorsError(label, undefined, `header would be ${header.length} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  return [prefix, header, ...dataChunks];
}

function metadataEntriesForWrite(metadata: Record<string, string> | undefined, label: string): [string, string][] {
  if (metadata === undefined) return [];
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new SafetensorsError(label, undefined, `metadata must be an object of string -> string, got ${describe(metadata)}`);
  }
  const entries = Object.keys(metadata).map((k): [string, string] => {
    const v: unknown = metadata[k];
    if (typeof v !== "string") {
      throw new SafetensorsError(label, undefined, `metadata ${JSON.stringify(k)} must be a string, got ${describe(v)}`);
    }
    return [k, v];
  });
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a[0], "utf8"), Buffer.from(b[0], "utf8")));
}

const DATA_CLASS: Readonly<Record<SafeDType, string>> = Object.freeze({
  F32: "Float32Array",
  F16: "Float32Array",
  BF16: "Float32Array",
  I32: "Int32Array",
  I64: "Int32Array",
  U8: "Uint8Array",
  BOOL: "Uint8Array",
});

function checkTensorForWrite(name: string, t: unknown, label: string): asserts t is SafeTensor {
  const fail = (detail: string): never => {
    throw new SafetensorsError(label, name, detail);
  };
  if (name === "") fail("tensor names must be non-empty");
  if (name === "__metadata__") fail(`"__metadata__" is reserved for the metadata map`);
  if (typeof t !== "object" || t === null) fail(`expected {dtype, shape, data}, got ${describe(t)}`);
  const { dtype, shape, data } = t as { dtype: unknown; shape: unknown; data: unknown };
  if (typeof dtype !== "string" || !(SAFE_DTYPES as readonly string[]).includes(dtype)) {
    fail(`unsupported dtype ${describe(dtype)}; writable dtypes: ${SAFE_DTYPES.join(", ")}`);
  }
  const d = dtype as SafeDType;
  const numel = checkShape(shape, (msg) => fail(msg));
  const cls = DATA_CLASS[d];
  const ok =
    (cls === "Float32Array" && data instanceof Float32Array) ||
    (cls === "Int32Array" && data instanceof Int32Array) ||
    (cls === "Uint8Array" && data instanceof Uint8Array);
  if (!ok) fail(`dtype ${d} needs data as ${cls}, got ${describe(data)}`);
  const arr = data as Float32Array | Int32Array | Uint8Array;
  if (arr.length !== numel) {
    fail(`shape [${(shape as number[]).join(", ")}] has ${numel} elements but data has ${arr.length}`);
  }
  if (d === "BOOL") {
    const bad = (arr as Uint8Array).findIndex((v) => v > 1);
    if (bad >= 0) fail(`BOOL data must be 0 or 1, got ${arr[bad]} at flat index ${bad}`);
  }
}

/** Little-endian bytes of one tensor (a view, no copy, for F32/I32/U8/BOOL). */
function tensorToBytes(t: SafeTensor): Uint8Array {
  const { data } = t;
  const view = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (t.dtype) {
    case "F32":
    case "I32":
    case "U8":
    case "BOOL":
      return view(data);
    case "F16":
      return view(f32BitsToF16(float32Bits(t.data)));
    case "BF16":
      return view(f32BitsToBf16(float32Bits(t.data)));
    case "I64": {
      const out = new Int32Array(t.data.length * 2);
      for (let i = 0; i < t.data.length; i++) {
        const v = t.data[i]!;
        out[2 * i] = v;
        out[2 * i + 1] = v >> 31; // sign extension
      }
      return view(out);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** Parse a whole safetensors file held in memory. `label` (usually the path) prefixes every error. */
export function decodeSafetensors(bytes: Uint8Array, label = "<buffer>"): SafetensorsContents {
  assertLittleEndianHost();
  const n = headerLength(bytes.subarray(0, 8), bytes.length, label);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, label);
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, info] of Object.entries(header.tensors)) {
    const [begin, end] = info.dataOffsets;
    const raw = new Uint8Array(end - begin); // own, aligned copy (a Buffer's slice() would be a view)
    raw.set(bytes.subarray(8 + n + begin, 8 + n + end));
    setOwn(tensors, name, tensorFromBytes(name, info, raw, label));
  }
  return { tensors, metadata: header.metadata };
}

/** Read a safetensors file tensor by tensor (peak memory ~ one copy of the weights). */
export function readSafetensorsFile(filePath: string): SafetensorsContents {
  assertLittleEndianHost();
  const fd = openForRead(filePath);
  try {
    const { header, dataStart } = readHeaderFromFd(fd, filePath);
    const tensors: Record<string, SafeTensor> = {};
    for (const [name, info] of Object.entries(header.tensors)) {
      const [begin, end] = info.dataOffsets;
      const raw = new Uint8Array(end - begin);
      readExactly(fd, raw, dataStart + begin, filePath, name);
      setOwn(tensors, name, tensorFromBytes(name, info, raw, filePath));
    }
    return { tensors, metadata: header.metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/** An open file whose tensors are read one at a time (for loaders that must not hold two copies of the weights). */
export interface SafetensorsReader {
  readonly file: string;
  readonly header: SafetensorsHeader;
  /** Reads and decodes one tensor named in the header. */
  read(name: string): SafeTensor;
  close(): void;
}

/** Opens a file and validates its header; read tensors with `read`, then `close`. */
export function openSafetensors(filePath: string): SafetensorsReader {
  assertLittleEndianHost();
  const fd = openForRead(filePath);
  let header: SafetensorsHeader;
  let dataStart: number;
  try {
    ({ header, dataStart } = readHeaderFromFd(fd, filePath));
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  let open = true;
  return {
    file: filePath,
    header,
    read(name: string): SafeTensor {
      if (!open) throw new SafetensorsError(filePath, name, "read after close");
      const info = Object.prototype.hasOwnProperty.call(header.tensors, name) ? header.tensors[name] : undefined;
      if (!info) throw new SafetensorsError(filePath, name, "no such tensor in the file");
      const [begin, end] = info.dataOffsets;
      const raw = new Uint8Array(end - begin);
      readExactly(fd, raw, dataStart + begin, filePath, name);
      return tensorFromBytes(name, info, raw, filePath);
    },
    close(): void {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

/** Read and validate only the header (names, dtypes, shapes, offsets, metadata) of a file. */
export function readSafetensorsHeader(filePath: string): SafetensorsHeader {
  const fd = openForRead(filePath);
  try {
    return readHeaderFromFd(fd, filePath).header;
  } finally {
    fs.closeSync(fd);
  }
}

function openForRead(filePath: string): number {
  try {
    return fs.openSync(filePath, "r");
  } catch (err) {
    throw new SafetensorsError(filePath, undefined, `cannot open: ${(err as Error).message}`);
  }
}

function readHeaderFromFd(fd: number, label: string): { header: SafetensorsHeader; dataStart: number } {
  const size = fs.fstatSync(fd).size;
  const prefix = new Uint8Array(Math.min(8, size));
  readExactly(fd, prefix, 0, label, undefined);
  const n = headerLength(prefix, size, label);
  const headerBytes = new Uint8Array(n);
  readExactly(fd, headerBytes, 8, label, undefined);
  return { header: parseHeader(headerBytes, size - 8 - n, label), dataStart: 8 + n };
}

function readExactly(fd: number, into: Uint8Array, position: number, label: string, tensor: string | undefined): void {
  let done = 0;
  while (done < into.length) {
    const got = fs.readSync(fd, into, done, into.length - done, position + done);
    if (got === 0) {
      throw new SafetensorsError(label, tensor, `file ended at byte ${position + done} while reading ${into.length} bytes at ${position} (file changed while reading?)`);
    }
    done += got;
  }
}

/** Validate the 8-byte prefix against the file size; returns N. */
function headerLength(prefix: Uint8Array, fileSize: number, label: string): number {
  if (fileSize < 8) {
    throw new SafetensorsError(label, undefined, `truncated file: ${fileSize} bytes, shorter than the 8-byte header-length prefix`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(label, undefined, `header length ${n} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  }
  if (n > BigInt(fileSize - 8)) {
    throw new SafetensorsError(label, undefined, `header length ${n} bytes but only ${fileSize - 8} bytes follow the 8-byte prefix (truncated file or not a safetensors file)`);
  }
  return Number(n);
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Parse and validate the JSON header against a data region of `dataLength` bytes. */
function parseHeader(bytes: Uint8Array, dataLength: number, label: string): SafetensorsHeader {
  let text: string;
  try {
    text = utf8Strict.decode(bytes);
  } catch {
    throw new SafetensorsError(label, undefined, "header is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(label, undefined, `malformed header JSON (${(err as Error).message}); header starts ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new SafetensorsError(label, undefined, `header must be a JSON object, got ${describe(json)}`);
  }
  const obj = json as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, SafeTensorInfo> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (key === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new SafetensorsError(label, undefined, `"__metadata__" must be an object of string values, got ${describe(value)}`);
      }
      for (const [mk, mv] of Object.entries(value as Record<string, unknown>)) {
        if (typeof mv !== "string") {
          throw new SafetensorsError(label, undefined, `metadata ${JSON.stringify(mk)} must be a string, got ${describe(mv)}`);
        }
        setOwn(metadata, mk, mv);
      }
      continue;
    }
    const info = parseTensorInfo(key, value, label);
    setOwn(tensors, key, info);
    spans.push({ name: key, begin: info.dataOffsets[0], end: info.dataOffsets[1] });
  }
  checkTiling(spans, dataLength, label);
  return { tensors, metadata, headerBytes: bytes.length };
}

function parseTensorInfo(name: string, value: unknown, label: string): SafeTensorInfo {
  const fail = (detail: string): never => {
    throw new SafetensorsError(label, name, detail);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`header entry must be {dtype, shape, data_offsets}, got ${describe(value)}`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== "string" || !(SAFE_DTYPES as readonly string[]).includes(dtype)) {
    fail(`unknown or unsupported dtype ${describe(dtype)}; supported: ${SAFE_DTYPES.join(", ")}`);
  }
  const d = dtype as SafeDType;
  const numel = checkShape(shape, (msg) => fail(msg));
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)
  ) {
    fail(`data_offsets must be [begin, end] of non-negative integers, got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`data_offsets [${begin}, ${end}] end before they begin`);
  const need = numel * SAFE_DTYPE_BYTES[d];
  if (!Number.isSafeInteger(need)) fail(`shape [${(shape as number[]).join(", ")}] is too large`);
  if (end - begin !== need) {
    fail(`data_offsets [${begin}, ${end}] span ${end - begin} bytes but dtype ${d} with shape [${(shape as number[]).join(", ")}] needs ${need}`);
  }
  return { dtype: d, shape: [...(shape as number[])], dataOffsets: [begin, end] };
}

/** Tensors must cover [0, dataLength) exactly: in range, no overlap, no gap, no trailing bytes. */
function checkTiling(spans: { name: string; begin: number; end: number }[], dataLength: number, label: string): void {
  let far: { name: string; end: number } | undefined;
  for (const s of spans) if (far === undefined || s.end > far.end) far = s;
  if (far !== undefined && far.end > dataLength) {
    throw new SafetensorsError(label, far.name, `data ends at byte ${far.end} of the data region but the file has only ${dataLength} data bytes (truncated file?)`);
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: string | undefined;
  for (const s of spans) {
    if (s.begin < pos) {
      throw new SafetensorsError(label, s.name, `data_offsets [${s.begin}, ${s.end}] overlap tensor ${JSON.stringify(prev)} which ends at ${pos}`);
    }
    if (s.begin > pos) {
      throw new SafetensorsError(label, s.name, `data_offsets [${s.begin}, ${s.end}] leave bytes [${pos}, ${s.begin}) of the data region unused`);
    }
    pos = s.end;
    prev = s.name;
  }
  if (pos !== dataLength) {
    throw new SafetensorsError(label, prev, `${dataLength - pos} trailing bytes after the last tensor's data (data region is ${dataLength} bytes, tensors cover ${pos})`);
  }
}

/** Decode one tensor from its raw bytes (`raw` is owned and starts at offset 0 of its buffer). */
function tensorFromBytes(name: string, info: SafeTensorInfo, raw: Uint8Array, label: string): SafeTensor {
  const shape = [...info.shape];
  const buf = raw.buffer;
  switch (info.dtype) {
    case "F32":
      return { dtype: "F32", shape, data: new Float32Array(buf, raw.byteOffset, raw.length / 4) };
    case "I32":
      return { dtype: "I32", shape, data: new Int32Array(buf, raw.byteOffset, raw.length / 4) };
    case "U8":
      return { dtype: "U8", shape, data: raw };
    case "BOOL": {
      const bad = raw.findIndex((v) => v > 1);
      if (bad >= 0) throw new SafetensorsError(label, name, `BOOL element at flat index ${bad} is ${raw[bad]}, expected 0 or 1`);
      return { dtype: "BOOL", shape, data: raw };
    }
    case "F16":
      return { dtype: "F16", shape, data: f16BitsToF32(new Uint16Array(buf, raw.byteOffset, raw.length / 2)) };
    case "BF16":
      return { dtype: "BF16", shape, data: bf16BitsToF32(new Uint16Array(buf, raw.byteOffset, raw.length / 2)) };
    case "I64": {
      const words = new Int32Array(buf, raw.byteOffset, raw.length / 4);
      const out = new Int32Array(words.length / 2);
      for (let i = 0; i < out.length; i++) {
        const lo = words[2 * i]!;
        const hi = words[2 * i + 1]!;
        if (hi !== lo >> 31) {
          const value = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
          throw new SafetensorsError(label, name, `I64 element at flat index ${i} is ${value}, outside the int32 range this reader supports`);
        }
        out[i] = lo;
      }
      return { dtype: "I64", shape, data: out };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Checking loaded tensors against what a model expects
// ---------------------------------------------------------------------------------------------

/** Expected dtype and shape of one tensor. */
export interface TensorSpec {
  shape: number[];
  dtype: SafeDType;
}

export interface SpecProblem {
  kind: "missing" | "unexpected" | "shape" | "dtype";
  tensor: string;
  /** One line naming the file, tensor, and expected vs got. */
  message: string;
}

export interface SpecCheckOptions {
  /** Tolerate tensors in the file that the spec does not list (default false). */
  allowUnexpected?: boolean;
  /** Treat F32, F16 and BF16 as interchangeable (they all decode to Float32Array; default false). */
  anyFloatPrecision?: boolean;
}

/**
 * Compare loaded tensors (or header infos) with a spec; one problem per missing tensor, unexpected
 * tensor, wrong shape and wrong dtype, sorted by tensor name.
 */
export function specProblems(
  spec: Record<string, TensorSpec>,
  loaded: Record<string, { dtype: SafeDType; shape: number[] }>,
  label: string,
  options: SpecCheckOptions = {},
): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const where = (t: string): string => `${label}: tensor ${JSON.stringify(t)}`;
  const isFloat = (d: SafeDType): boolean => d === "F32" || d === "F16" || d === "BF16";
  const names = [...new Set([...Object.keys(spec), ...Object.keys(loaded)])].sort();
  for (const name of names) {
    const want = Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined;
    const got = Object.prototype.hasOwnProperty.call(loaded, name) ? loaded[name] : undefined;
    if (want !== undefined && got === undefined) {
      problems.push({ kind: "missing", tensor: name, message: `${where(name)}: missing (expected ${want.dtype} [${want.shape.join(", ")}])` });
    } else if (want === undefined && got !== undefined) {
      if (!options.allowUnexpected) {
        problems.push({ kind: "unexpected", tensor: name, message: `${where(name)}: unexpected tensor (${got.dtype} [${got.shape.join(", ")}]) not in the expected set` });
      }
    } else if (want !== undefined && got !== undefined) {
      if (!sameShape(want.shape, got.shape)) {
        problems.push({ kind: "shape", tensor: name, message: `${where(name)}: wrong shape: expected [${want.shape.join(", ")}], got [${got.shape.join(", ")}]` });
      }
      const dtypeOk = got.dtype === want.dtype || (options.anyFloatPrecision === true && isFloat(got.dtype) && isFloat(want.dtype));
      if (!dtypeOk) {
        problems.push({ kind: "dtype", tensor: name, message: `${where(name)}: wrong dtype: expected ${want.dtype}, got ${got.dtype}` });
      }
    }
  }
  return problems;
}

/** Throw a SafetensorsError listing every problem `specProblems` finds (one per line); else return. */
export function validateAgainst(
  spec: Record<string, TensorSpec>,
  loaded: Record<string, { dtype: SafeDType; shape: number[] }>,
  label: string,
  options: SpecCheckOptions = {},
): void {
  const problems = specProblems(spec, loaded, label, options);
  if (problems.length === 0) return;
  throw new SafetensorsSpecError(label, problems);
}

/** Thrown by `validateAgainst`: every mismatch, one per line of the message and in `problems`. */
export class SafetensorsSpecError extends SafetensorsError {
  readonly problems: readonly SpecProblem[];

  constructor(file: string, problems: readonly SpecProblem[]) {
    super(
      file,
      undefined,
      `${problems.length} tensor(s) do not match the expected set:\n  ${problems.map((p) => p.message).join("\n  ")}`,
    );
    this.name = "SafetensorsSpecError";
    this.problems = problems;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** Raw IEEE bits of a Float32Array (a view, no copy). */
function float32Bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Validate a shape; returns its element count (1 for `[]`). */
function checkShape(shape: unknown, fail: (msg: string) => never): number {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(`shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  let numel = 1;
  for (const d of shape as number[]) numel *= d;
  if (!Number.isSafeInteger(numel)) fail(`shape [${(shape as number[]).join(", ")}] has too many elements`);
  return numel;
}

/** Define an own enumerable property (safe even for keys like "__proto__"). */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `array ${truncate(JSON.stringify(v))}`;
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (typeof v === "object") return `object ${truncate(safeJson(v))}`;
  if (typeof v === "string") return `string ${truncate(JSON.stringify(v))}`;
  return `${typeof v} ${String(v)}`;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function truncate(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max)}...`;
}

let hostChecked = false;
function assertLittleEndianHost(): void {
  if (hostChecked) return;
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("safetensors: this module assumes a little-endian host (typed arrays are read as-is)");
  }
  hostChecked = true;
}

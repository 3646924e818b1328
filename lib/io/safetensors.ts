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
import { bf16BitsToF32, f16BitsToF32 } from "./float16";
import {
  SAFE_DTYPES,
  SAFE_DTYPE_BYTES,
  MAX_HEADER_BYTES,
  SafetensorsError,
  type SafeDType,
  type SafeTensor,
  type SafeTensorInfo,
  type SafetensorsContents,
  type SafetensorsHeader,
  checkShape,
  setOwn,
  describe,
  assertLittleEndianHost,
} from "./safetensors-format";

// The format's public names; its shared internals (checkShape, setOwn, ...) stay inside lib/io.
export {
  SAFE_DTYPES,
  SAFE_DTYPE_BYTES,
  MAX_HEADER_BYTES,
  SafetensorsError,
  type SafeDType,
  type SafeTensor,
  type SafeTensorInfo,
  type SafetensorsContents,
  type SafetensorsHeader,
  type FloatSafeTensor,
  type IntSafeTensor,
  type ByteSafeTensor,
} from "./safetensors-format";
export * from "./safetensors-write";
export * from "./safetensors-spec";

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
      throw new SafetensorsError(
        label,
        tensor,
        `file ended at byte ${position + done} while reading ${into.length} bytes at ${position} (file changed while reading?)`,
      );
    }
    done += got;
  }
}

/** Validate the 8-byte prefix against the file size; returns N. */
function headerLength(prefix: Uint8Array, fileSize: number, label: string): number {
  if (fileSize < 8) {
    throw new SafetensorsError(
      label,
      undefined,
      `truncated file: ${fileSize} bytes, shorter than the 8-byte header-length prefix`,
    );
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      label,
      undefined,
      `header length ${n} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`,
    );
  }
  if (n > BigInt(fileSize - 8)) {
    throw new SafetensorsError(
      label,
      undefined,
      `header length ${n} bytes but only ${fileSize - 8} bytes follow the 8-byte prefix (truncated file or not a safetensors file)`,
    );
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
    throw new SafetensorsError(
      label,
      undefined,
      `malformed header JSON (${(err as Error).message}); header starts ${JSON.stringify(text.slice(0, 80))}`,
    );
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
        throw new SafetensorsError(
          label,
          undefined,
          `"__metadata__" must be an object of string values, got ${describe(value)}`,
        );
      }
      for (const [mk, mv] of Object.entries(value as Record<string, unknown>)) {
        if (typeof mv !== "string") {
          throw new SafetensorsError(
            label,
            undefined,
            `metadata ${JSON.stringify(mk)} must be a string, got ${describe(mv)}`,
          );
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
    fail(
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes but dtype ${d} with shape [${(shape as number[]).join(", ")}] needs ${need}`,
    );
  }
  return { dtype: d, shape: [...(shape as number[])], dataOffsets: [begin, end] };
}

/** Tensors must cover [0, dataLength) exactly: in range, no overlap, no gap, no trailing bytes. */
function checkTiling(spans: { name: string; begin: number; end: number }[], dataLength: number, label: string): void {
  let far: { name: string; end: number } | undefined;
  for (const s of spans) if (far === undefined || s.end > far.end) far = s;
  if (far !== undefined && far.end > dataLength) {
    throw new SafetensorsError(
      label,
      far.name,
      `data ends at byte ${far.end} of the data region but the file has only ${dataLength} data bytes (truncated file?)`,
    );
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: string | undefined;
  for (const s of spans) {
    if (s.begin < pos) {
      throw new SafetensorsError(
        label,
        s.name,
        `data_offsets [${s.begin}, ${s.end}] overlap tensor ${JSON.stringify(prev)} which ends at ${pos}`,
      );
    }
    if (s.begin > pos) {
      throw new SafetensorsError(
        label,
        s.name,
        `data_offsets [${s.begin}, ${s.end}] leave bytes [${pos}, ${s.begin}) of the data region unused`,
      );
    }
    pos = s.end;
    prev = s.name;
  }
  if (pos !== dataLength) {
    throw new SafetensorsError(
      label,
      prev,
      `${dataLength - pos} trailing bytes after the last tensor's data (data region is ${dataLength} bytes, tensors cover ${pos})`,
    );
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
      if (bad >= 0)
        throw new SafetensorsError(label, name, `BOOL element at flat index ${bad} is ${raw[bad]}, expected 0 or 1`);
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
          throw new SafetensorsError(
            label,
            name,
            `I64 element at flat index ${i} is ${value}, outside the int32 range this reader supports`,
          );
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

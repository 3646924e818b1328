/** Writing safetensors files the way the reference implementation does (see safetensors.ts for the layout). */
import { writeFileAtomic } from "./atomic-write";
import { f32BitsToBf16, f32BitsToF16 } from "./float16";
import {
  SAFE_DTYPES,
  REFERENCE_DTYPE_RANK,
  MAX_HEADER_BYTES,
  SafetensorsError,
  type SafeDType,
  type SafeTensor,
  float32Bits,
  checkShape,
  describe,
  assertLittleEndianHost,
} from "./safetensors-format";

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
    throw new SafetensorsError(
      label,
      undefined,
      `tensors must be an object of name -> tensor, got ${describe(tensors)}`,
    );
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
    parts.push(
      `"__metadata__":{${metaEntries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`,
    );
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
    throw new SafetensorsError(
      label,
      undefined,
      `header would be ${header.length} bytes, over the ${MAX_HEADER_BYTES}-byte limit`,
    );
  }
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  return [prefix, header, ...dataChunks];
}

function metadataEntriesForWrite(metadata: Record<string, string> | undefined, label: string): [string, string][] {
  if (metadata === undefined) return [];
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new SafetensorsError(
      label,
      undefined,
      `metadata must be an object of string -> string, got ${describe(metadata)}`,
    );
  }
  const entries = Object.keys(metadata).map((k): [string, string] => {
    const v: unknown = metadata[k];
    if (typeof v !== "string") {
      throw new SafetensorsError(
        label,
        undefined,
        `metadata ${JSON.stringify(k)} must be a string, got ${describe(v)}`,
      );
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

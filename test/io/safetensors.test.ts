import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  readSafetensorsFile,
  readSafetensorsHeader,
  SAFE_DTYPE_BYTES,
  SafeTensor,
  SafetensorsError,
  SafetensorsSpecError,
  specProblems,
  validateAgainst,
  writeSafetensorsFile,
} from "../../lib/io/safetensors";

/** Raw little-endian bytes of a typed array. */
function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Float32Array from raw float32 bit patterns (keeps NaN payloads). */
function f32FromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

/** A safetensors file from a literal header string and data bytes (for malformed-file tests). */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0)): Buffer {
  const h = Buffer.from(header, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([prefix, h, data]);
}

/** Every tensor kind, including scalars, empty tensors and special float values. */
function sampleTensors(): Record<string, SafeTensor> {
  return {
    "w.f32": {
      dtype: "F32",
      shape: [2, 3],
      data: f32FromBits([0x3f800000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00001, 0x00000001]),
    },
    "w.f16": { dtype: "F16", shape: [4], data: new Float32Array([1, -2, 65504, 2 ** -24]) },
    "w.bf16": { dtype: "BF16", shape: [2, 2], data: new Float32Array([1, -2, 3.140625, 2 ** -133]) },
    "ids.i32": { dtype: "I32", shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) },
    "ids.i64": { dtype: "I64", shape: [3], data: new Int32Array([-2147483648, -1, 2147483647]) },
    "bytes.u8": { dtype: "U8", shape: [3], data: new Uint8Array([0, 128, 255]) },
    "mask.bool": { dtype: "BOOL", shape: [1, 3], data: new Uint8Array([1, 0, 1]) },
    "scalar.f32": { dtype: "F32", shape: [], data: new Float32Array([-7.5]) },
    "scalar.i64": { dtype: "I64", shape: [], data: new Int32Array([42]) },
    "empty.f32": { dtype: "F32", shape: [0], data: new Float32Array(0) },
    "empty.u8": { dtype: "U8", shape: [2, 0, 3], data: new Uint8Array(0) },
  };
}

/** Assert `fn` throws a SafetensorsError whose message names `file` and (if given) `tensor`. */
function assertSafetensorsError(fn: () => unknown, file: string, tensor: string | undefined, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SafetensorsError, `expected SafetensorsError, got ${String(err)}`);
    assert.ok(err.message.includes(file), `message should name the file ${file}: ${err.message}`);
    if (tensor !== undefined) {
      assert.ok(err.message.includes(`"${tensor}"`), `message should name tensor ${tensor}: ${err.message}`);
      assert.equal(err.tensor, tensor);
    }
    assert.match(err.message, pattern);
    return true;
  });
}

describe("io/safetensors", () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "safetensors-test-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe("round trip", () => {
    it("decodes every dtype, scalar and empty tensor back bitwise, with metadata", () => {
      const tensors = sampleTensors();
      const metadata = { format: "pt", note: "ünïcode ✓" };
      const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata), "mem");
      assert.deepEqual(Object.keys(decoded.tensors).sort(), Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) {
        const got = decoded.tensors[name]!;
        assert.equal(got.dtype, t.dtype, name);
        assert.deepEqual(got.shape, t.shape, name);
        assert.equal(got.data.constructor, t.data.constructor, name);
        assert.ok(bytesOf(got.data).equals(bytesOf(t.data)), `${name}: bytes differ`);
      }
      assert.deepEqual(decoded.metadata, metadata);
    });

    it("re-encoding decoded bytes reproduces them exactly, and input key order does not matter", () => {
      const tensors = sampleTensors();
      const a = encodeSafetensors(tensors, { b: "2", a: "1" });
      const reversed = Object.fromEntries(Object.entries(tensors).reverse());
      const b = encodeSafetensors(reversed, { a: "1", b: "2" });
      assert.ok(a.equals(b));
      const decoded = decodeSafetensors(a, "mem");
      assert.ok(encodeSafetensors(decoded.tensors, decoded.metadata).equals(a));
    });

    it("accepts typed arrays that are views into larger buffers", () => {
      const backing = new Float32Array([9, 1, 2, 3, 9]);
      const view = backing.subarray(1, 4);
      const out = decodeSafetensors(encodeSafetensors({ x: { dtype: "F32", shape: [3], data: view } }), "mem");
      assert.deepEqual(Array.from(out.tensors.x!.data), [1, 2, 3]);
    });

    it("keeps a tensor literally named __proto__ as an own key", () => {
      const tensors: Record<string, SafeTensor> = {};
      Object.defineProperty(tensors, "__proto__", {
        value: { dtype: "U8", shape: [1], data: new Uint8Array([5]) },
        enumerable: true,
      });
      const out = decodeSafetensors(encodeSafetensors(tensors), "mem");
      assert.deepEqual(Object.keys(out.tensors), ["__proto__"]);
      assert.equal(Object.getPrototypeOf(out.tensors), Object.prototype);
    });

    it("writes atomically to disk and reads back (whole file and header only)", () => {
      const file = path.join(dir, "roundtrip.safetensors");
      writeSafetensorsFile(file, sampleTensors(), { step: "10" });
      const back = readSafetensorsFile(file);
      assert.ok(encodeSafetensors(back.tensors, back.metadata).equals(fs.readFileSync(file)));
      const header = readSafetensorsHeader(file);
      assert.equal(header.tensors["w.f32"]!.dtype, "F32");
      assert.deepEqual(header.tensors["w.f32"]!.shape, [2, 3]);
      const [begin, end] = header.tensors["w.f32"]!.dataOffsets;
      assert.equal(end - begin, 24);
      assert.equal(header.metadata.step, "10");
      assert.equal((8 + header.headerBytes) % 8, 0);
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")),
        [],
      );
    });
  });

  describe("bytes on disk", () => {
    // Expected byte vectors from the reference implementation's own unit tests (huggingface/safetensors,
    // safetensors/src/tensor.rs: test_serialization, test_empty, test_serialization_forced_alignement).
    it("matches the reference bytes for one F32 tensor", () => {
      const out = encodeSafetensors({
        "attn.0": { dtype: "F32", shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) },
      });
      assert.deepEqual(
        [...out],
        [
          64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58,
          34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116,
          97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128,
          63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
        ],
      );
    });

    it("pads the header with spaces to a multiple of 8 bytes, like the reference", () => {
      const out = encodeSafetensors({
        attn0: { dtype: "F32", shape: [1, 1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) },
      });
      assert.equal(out.readBigUInt64LE(0), 72n);
      assert.equal(out.subarray(8 + 65, 8 + 72).toString("latin1"), "       ");
      assert.equal(encodeSafetensors({}).toString("latin1"), "\x08\0\0\0\0\0\0\0{}      ");
      assert.deepEqual(
        [...encodeSafetensors({}, { framework: "pt" })],
        [
          40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102,
          114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
        ],
      );
    });

    it("lays tensors out widest dtype first, then by name, each aligned to its element size", () => {
      const out = encodeSafetensors({
        c: { dtype: "U8", shape: [3], data: new Uint8Array(3) },
        b: { dtype: "F32", shape: [1], data: new Float32Array(1) },
        a: { dtype: "F16", shape: [1], data: new Float32Array(1) },
        z: { dtype: "I64", shape: [1], data: new Int32Array(1) },
        y: { dtype: "F32", shape: [2], data: new Float32Array(2) },
      });
      const n = Number(out.readBigUInt64LE(0));
      const header = JSON.parse(out.subarray(8, 8 + n).toString("utf8")) as Record<
        string,
        { dtype: string; data_offsets: [number, number] }
      >;
      assert.deepEqual(Object.keys(header), ["z", "b", "y", "a", "c"]);
      for (const info of Object.values(header)) {
        assert.equal((8 + n + info.data_offsets[0]) % SAFE_DTYPE_BYTES[info.dtype as "F32"], 0);
      }
    });

    it("orders integer-like names by the rule, not by JS object key order", () => {
      const out = encodeSafetensors({
        b: { dtype: "U8", shape: [1], data: new Uint8Array([1]) },
        "10": { dtype: "U8", shape: [1], data: new Uint8Array([2]) },
        "9": { dtype: "U8", shape: [1], data: new Uint8Array([3]) },
      });
      const n = Number(out.readBigUInt64LE(0));
      const text = out.subarray(8, 8 + n).toString("utf8");
      assert.ok(text.indexOf('"10"') < text.indexOf('"9"') && text.indexOf('"9"') < text.indexOf('"b"'), text);
      assert.deepEqual([...out.subarray(8 + n)], [2, 3, 1]);
    });
  });

  describe("float16 / bfloat16", () => {
    const decodeOne = (dtype: "F16" | "BF16", bits: number[]): Float32Array => {
      const data = Buffer.from(new Uint16Array(bits).buffer);
      const file = rawFile(
        JSON.stringify({ x: { dtype, shape: [bits.length], data_offsets: [0, data.length] } }),
        data,
      );
      return decodeSafetensors(file, "mem").tensors.x!.data as Float32Array;
    };

    it("decodes known F16 bit patterns", () => {
      const got = decodeOne(
        "F16",
        [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x3555, 0x8000, 0x7c00, 0xfc00, 0x7e00],
      );
      assert.deepEqual(Array.from(got.subarray(0, 7)), [
        1,
        -2,
        65504,
        2 ** -24,
        1023 * 2 ** -24,
        2 ** -14,
        0.333251953125,
      ]);
      assert.ok(Object.is(got[7], -0));
      assert.equal(got[8], Infinity);
      assert.equal(got[9], -Infinity);
      assert.ok(Number.isNaN(got[10]));
    });

    it("decodes known BF16 bit patterns", () => {
      const got = decodeOne("BF16", [0x3f80, 0xc000, 0x4049, 0x0001, 0x7f7f, 0x8000, 0x7f80, 0x7fc0]);
      assert.deepEqual(Array.from(got.subarray(0, 5)), [1, -2, 3.140625, 2 ** -133, 3.3895313892515355e38]);
      assert.ok(Object.is(got[5], -0));
      assert.equal(got[6], Infinity);
      assert.ok(Number.isNaN(got[7]));
    });

    it("F16 and BF16 files re-encode bitwise, including NaN payloads", () => {
      const all16 = new Uint16Array(65536).map((_, i) => i);
      for (const dtype of ["F16", "BF16"] as const) {
        const data = Buffer.from(all16.buffer);
        const file = rawFile(JSON.stringify({ x: { dtype, shape: [65536], data_offsets: [0, data.length] } }), data);
        const back = encodeSafetensors(decodeSafetensors(file, "mem").tensors);
        const n = Number(back.readBigUInt64LE(0));
        assert.ok(back.subarray(8 + n).equals(data), `${dtype} data changed in a read/write round trip`);
      }
    });
  });

  describe("I64", () => {
    it("reads in-range values and rejects out-of-range ones naming tensor, index and value", () => {
      const words = new Int32Array([5, 0, -3, -1, 0, 1]); // 5, -3, 2^32
      const data = Buffer.from(words.buffer);
      const ok = rawFile(
        JSON.stringify({ ids: { dtype: "I64", shape: [2], data_offsets: [0, 16] } }),
        data.subarray(0, 16),
      );
      assert.deepEqual(Array.from(decodeSafetensors(ok, "ok.st").tensors.ids!.data), [5, -3]);
      const bad = rawFile(JSON.stringify({ ids: { dtype: "I64", shape: [3], data_offsets: [0, 24] } }), data);
      assertSafetensorsError(
        () => decodeSafetensors(bad, "big.st"),
        "big.st",
        "ids",
        /flat index 2 is 4294967296, outside the int32 range/,
      );
    });
  });

  describe("malformed files", () => {
    /** Write `bytes` to a file and check both the in-memory and the file reader fail the same way. */
    function expectBadFile(name: string, bytes: Uint8Array, tensor: string | undefined, pattern: RegExp): void {
      const file = path.join(dir, name);
      fs.writeFileSync(file, bytes);
      assertSafetensorsError(() => readSafetensorsFile(file), file, tensor, pattern);
      assertSafetensorsError(() => decodeSafetensors(bytes, file), file, tensor, pattern);
    }
    const good = (): Buffer => encodeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });

    it("file shorter than the 8-byte prefix", () => {
      expectBadFile("short.st", new Uint8Array([1, 0, 0]), undefined, /truncated file: 3 bytes/);
    });

    it("file shorter than 8 + N", () => {
      expectBadFile("short-header.st", good().subarray(0, 20), undefined, /only 12 bytes follow/);
    });

    it("data region shorter than the largest offset", () => {
      const bytes = good();
      expectBadFile("short-data.st", bytes.subarray(0, bytes.length - 1), "w", /ends at byte 8 .* only 7 data bytes/);
    });

    it("header length over the 100 MB cap", () => {
      const bytes = Buffer.alloc(16);
      bytes.writeBigUInt64LE(BigInt(MAX_HEADER_BYTES) + 1n);
      expectBadFile("huge-header.st", bytes, undefined, /exceeds the 100000000-byte limit/);
      bytes.writeBigUInt64LE(0xffffffffffffffffn);
      expectBadFile("huge-header2.st", bytes, undefined, /header length 18446744073709551615 bytes exceeds/);
    });

    it("malformed header JSON", () => {
      expectBadFile("bad-json.st", rawFile('{"w": {"dtype": "F32",'), undefined, /malformed header JSON/);
    });

    it("header that is not valid UTF-8", () => {
      const bytes = rawFile("{}      ");
      bytes[9] = 0xff;
      expectBadFile("bad-utf8.st", bytes, undefined, /not valid UTF-8/);
    });

    it("header that is not an object", () => {
      expectBadFile("array.st", rawFile("[1, 2]"), undefined, /header must be a JSON object, got array/);
      expectBadFile("null.st", rawFile("null"), undefined, /header must be a JSON object, got null/);
    });

    it("tensor entry that is not an object", () => {
      expectBadFile("entry.st", rawFile('{"w": [0, 4]}'), "w", /header entry must be \{dtype, shape, data_offsets\}/);
    });

    it("unknown dtype", () => {
      expectBadFile(
        "dtype.st",
        rawFile('{"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}', new Uint8Array(1)),
        "w",
        /unsupported dtype string "F8_E4M3"/,
      );
    });

    it("shape that is not an array of non-negative integers", () => {
      for (const [i, shape] of ["[-1]", "[1.5]", '"3"', '[2, "3"]', "null"].entries()) {
        expectBadFile(
          `shape${i}.st`,
          rawFile(`{"w": {"dtype": "U8", "shape": ${shape}, "data_offsets": [0, 0]}}`),
          "w",
          /shape must be an array of non-negative integers/,
        );
      }
    });

    it("data_offsets malformed", () => {
      expectBadFile(
        "offsets.st",
        rawFile('{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0]}}', new Uint8Array(1)),
        "w",
        /data_offsets must be \[begin, end\]/,
      );
      expectBadFile(
        "offsets2.st",
        rawFile('{"w": {"dtype": "U8", "shape": [0], "data_offsets": [3, 2]}}', new Uint8Array(3)),
        "w",
        /end before they begin/,
      );
    });

    it("data_offsets inconsistent with dtype and shape", () => {
      expectBadFile(
        "size.st",
        rawFile('{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', new Uint8Array(4)),
        "w",
        /span 4 bytes but dtype F32 with shape \[2\] needs 8/,
      );
    });

    it("overlapping data_offsets", () => {
      const header =
        '{"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}';
      expectBadFile("overlap.st", rawFile(header, new Uint8Array(6)), "b", /overlap tensor "a" which ends at 4/);
    });

    it("data_offsets that leave a gap or unused trailing bytes", () => {
      const gap = '{"a": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}';
      expectBadFile("gap.st", rawFile(gap, new Uint8Array(3)), "a", /leave bytes \[0, 1\) of the data region unused/);
      const tail = '{"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}';
      expectBadFile("trailing.st", rawFile(tail, new Uint8Array(5)), "a", /3 trailing bytes after the last tensor/);
    });

    it("offsets beyond the data region", () => {
      const header =
        '{"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}, "b": {"dtype": "U8", "shape": [2], "data_offsets": [100, 102]}}';
      expectBadFile("range.st", rawFile(header, new Uint8Array(4)), "b", /ends at byte 102 .* only 4 data bytes/);
    });

    it("metadata that is not a string map", () => {
      expectBadFile(
        "meta.st",
        rawFile('{"__metadata__": {"step": 10}}'),
        undefined,
        /metadata "step" must be a string, got number 10/,
      );
      expectBadFile("meta2.st", rawFile('{"__metadata__": ["x"]}'), undefined, /"__metadata__" must be an object/);
    });

    it("BOOL bytes other than 0/1", () => {
      expectBadFile(
        "bool.st",
        rawFile('{"m": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}', new Uint8Array([1, 7])),
        "m",
        /flat index 1 is 7, expected 0 or 1/,
      );
    });

    it("missing file", () => {
      const file = path.join(dir, "nope.safetensors");
      assertSafetensorsError(() => readSafetensorsFile(file), file, undefined, /cannot open/);
    });
  });

  describe("writer input checks", () => {
    const label = "out.safetensors";
    const encode = (t: unknown, meta?: unknown) => () =>
      encodeSafetensors(t as Record<string, SafeTensor>, meta as Record<string, string>, label);

    it("rejects data of the wrong array type for the dtype", () => {
      assertSafetensorsError(
        encode({ w: { dtype: "F32", shape: [1], data: new Float64Array(1) } }),
        label,
        "w",
        /dtype F32 needs data as Float32Array, got Float64Array/,
      );
      assertSafetensorsError(
        encode({ w: { dtype: "I64", shape: [1], data: [1] } }),
        label,
        "w",
        /needs data as Int32Array, got array/,
      );
    });

    it("rejects a data length that does not match the shape", () => {
      assertSafetensorsError(
        encode({ w: { dtype: "F32", shape: [2, 2], data: new Float32Array(3) } }),
        label,
        "w",
        /shape \[2, 2\] has 4 elements but data has 3/,
      );
    });

    it("rejects bad shapes, dtypes, names, BOOL values and metadata", () => {
      assertSafetensorsError(
        encode({ w: { dtype: "F32", shape: [-1], data: new Float32Array(0) } }),
        label,
        "w",
        /non-negative integers/,
      );
      assertSafetensorsError(
        encode({ w: { dtype: "F64", shape: [1], data: new Float32Array(1) } }),
        label,
        "w",
        /unsupported dtype string "F64"/,
      );
      assertSafetensorsError(
        encode({ __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array(0) } }),
        label,
        "__metadata__",
        /reserved/,
      );
      assertSafetensorsError(
        encode({ m: { dtype: "BOOL", shape: [2], data: new Uint8Array([0, 2]) } }),
        label,
        "m",
        /must be 0 or 1, got 2 at flat index 1/,
      );
      assertSafetensorsError(
        encode({}, { epoch: 3 }),
        label,
        undefined,
        /metadata "epoch" must be a string, got number 3/,
      );
    });
  });

  describe("validateAgainst", () => {
    const spec = {
      wte: { dtype: "F32" as const, shape: [100, 16] },
      "h.0.w": { dtype: "F32" as const, shape: [16, 16] },
      pos: { dtype: "I32" as const, shape: [8] },
    };

    it("passes when names, shapes and dtypes match", () => {
      validateAgainst(
        spec,
        {
          wte: { dtype: "F32", shape: [100, 16] },
          "h.0.w": { dtype: "F32", shape: [16, 16] },
          pos: { dtype: "I32", shape: [8] },
        },
        "ok.st",
      );
    });

    it("reports missing, unexpected, wrong-shape and wrong-dtype tensors, each with file and expected vs got", () => {
      const loaded = {
        wte: { dtype: "F16" as const, shape: [100, 16] },
        "h.0.w": { dtype: "F32" as const, shape: [16, 8] },
        "h.9.w": { dtype: "F32" as const, shape: [1] },
      };
      const problems = specProblems(spec, loaded, "ckpt.st");
      assert.deepEqual(
        problems.map((p) => [p.kind, p.tensor]),
        [
          ["shape", "h.0.w"],
          ["unexpected", "h.9.w"],
          ["missing", "pos"],
          ["dtype", "wte"],
        ],
      );
      assert.equal(problems[0]!.message, 'ckpt.st: tensor "h.0.w": wrong shape: expected [16, 16], got [16, 8]');
      assert.equal(
        problems[1]!.message,
        'ckpt.st: tensor "h.9.w": unexpected tensor (F32 [1]) not in the expected set',
      );
      assert.equal(problems[2]!.message, 'ckpt.st: tensor "pos": missing (expected I32 [8])');
      assert.equal(problems[3]!.message, 'ckpt.st: tensor "wte": wrong dtype: expected F32, got F16');
      assert.throws(
        () => validateAgainst(spec, loaded, "ckpt.st"),
        (err: unknown) => {
          assert.ok(err instanceof SafetensorsSpecError);
          assert.equal(err.problems.length, 4);
          assert.match(err.message, /^ckpt\.st: 4 tensor\(s\) do not match the expected set:\n/);
          for (const p of problems) assert.ok(err.message.includes(p.message));
          return true;
        },
      );
      const relaxed = specProblems(spec, loaded, "ckpt.st", { allowUnexpected: true, anyFloatPrecision: true });
      assert.deepEqual(
        relaxed.map((p) => p.kind),
        ["shape", "missing"],
      );
    });

    it("works directly on decoded tensors and headers", () => {
      const file = path.join(dir, "spec.safetensors");
      writeSafetensorsFile(file, { pos: { dtype: "I64", shape: [8], data: new Int32Array(8) } });
      const problems = specProblems(spec, readSafetensorsHeader(file).tensors, file);
      assert.ok(
        problems.some(
          (p) => p.kind === "dtype" && p.message.includes(file) && p.message.includes("expected I32, got I64"),
        ),
      );
      assert.deepEqual(
        problems.map((p) => p.kind),
        specProblems(spec, readSafetensorsFile(file).tensors, file).map((p) => p.kind),
      );
    });
  });
});

/**
 * Interoperability with Python: files we write parse in Python (a minimal reader over json + struct,
 * materialised with torch.frombuffer), and files written by Python load here. Uses torch for the
 * float16/bfloat16 conversions, so it also checks our narrowing rounds exactly like PyTorch.
 * Skipped (with a message) when /usr/bin/python3 or torch is missing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readSafetensorsFile, SafeTensor, writeSafetensorsFile } from "../../lib/io/safetensors";
import { f32BitsToBf16, f32BitsToF16 } from "../../lib/io/float16";

const PYTHON = "/usr/bin/python3";

/** argv: <file written by JS to read> <file for Python to write>. Prints a JSON report on stdout. */
const SCRIPT = String.raw`
import json, struct, sys
import torch

ours_path, theirs_path = sys.argv[1], sys.argv[2]
DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I32": torch.int32,
      "I64": torch.int64, "U8": torch.uint8, "BOOL": torch.bool}
NAME = {v: k for k, v in DT.items()}

def load(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = DT[info["dtype"]]
        raw = bytearray(buf[8 + n + b:8 + n + e])
        flat = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = flat.reshape(info["shape"])
    return out, meta, n, buf[8:8 + n]

def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()

def save(path, tensors, meta):
    # insertion order, no alignment padding: a valid file laid out differently from ours
    header, chunks, offset = {"__metadata__": meta}, [], 0
    for name, t in tensors.items():
        data = raw_bytes(t)
        header[name] = {"dtype": NAME[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    h = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))

def report(t):
    if t.is_floating_point():
        values = t.float().reshape(-1).view(torch.int32).tolist()  # exact float32 bit patterns
    else:
        values = t.reshape(-1).long().tolist()
    return {"dtype": NAME[t.dtype], "shape": list(t.shape), "values": values}

ours, ours_meta, n, header_bytes = load(ours_path)

torch.manual_seed(0)
edge = [0.0, -0.0, 1.0, -1.5, 65504.0, 65519.0, 65520.0, 1e6, 2.0 ** -25, 1.5 * 2.0 ** -24, 2.5 * 2.0 ** -24,
        1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 3.0e-39, 3.4e38,
        float("inf"), float("-inf"), float("nan")]
src = torch.cat([torch.tensor(edge, dtype=torch.float32),
                 torch.randn(400) * torch.logspace(-9, 6, 400)]).float()
theirs = {
    "u8": torch.tensor([7, 0, 255], dtype=torch.uint8),  # odd length first: later tensors are unaligned
    "src": src,
    "src_f16": src.half(),
    "src_bf16": src.bfloat16(),
    "ids": torch.tensor([[1, -2], [3, 2 ** 31 - 1]], dtype=torch.int64),
    "i32": torch.tensor([-5, 6], dtype=torch.int32),
    "mask": torch.tensor([True, False, True]),
    "scalar": torch.tensor(2.5),
    "empty": torch.zeros(0, 3),
}
save(theirs_path, theirs, {"format": "pt", "source": "python"})

print(json.dumps({
    "torch": torch.__version__,
    "header_len": n,
    "header_tail": header_bytes.decode("utf-8")[len(header_bytes.decode("utf-8").rstrip(" ")):],
    "metadata": ours_meta,
    "tensors": {k: report(v) for k, v in ours.items()},
    "f16_bits": (src.half().view(torch.int16).long() & 0xFFFF).tolist(),
    "bf16_bits": (src.bfloat16().view(torch.int16).long() & 0xFFFF).tolist(),
    "f16_as_f32": src.half().float().view(torch.int32).tolist(),
    "bf16_as_f32": src.bfloat16().float().view(torch.int32).tolist(),
}))
`;

interface TensorReport {
  dtype: string;
  shape: number[];
  values: number[];
}

interface PythonReport {
  torch: string;
  header_len: number;
  header_tail: string;
  metadata: Record<string, string>;
  tensors: Record<string, TensorReport>;
  f16_bits: number[];
  bf16_bits: number[];
  f16_as_f32: number[];
  bf16_as_f32: number[];
}

/** Element values as Python reports them: float32 bit patterns (signed) for floats, integers otherwise. */
function asReported(t: SafeTensor): number[] {
  if (t.data instanceof Float32Array)
    return Array.from(new Int32Array(t.data.buffer, t.data.byteOffset, t.data.length));
  return Array.from(t.data);
}

describe("io/safetensors interop with Python (torch)", function () {
  this.timeout(60_000);
  let dir: string;
  let report: PythonReport;
  let ours: Record<string, SafeTensor>;
  let theirsPath: string;

  before(function () {
    if (!fs.existsSync(PYTHON)) {
      console.warn(`    skipping Python interop: ${PYTHON} not found`);
      this.skip();
    }
    const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8", timeout: 30_000 });
    if (probe.status !== 0) {
      console.warn(
        `    skipping Python interop: 'import torch' failed in ${PYTHON}: ${probe.stderr.trim().split("\n").pop()}`,
      );
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "safetensors-py-"));
    ours = {
      "w.f32": { dtype: "F32", shape: [2, 3], data: new Float32Array([1, -0, Infinity, -Infinity, NaN, 1e-45]) },
      "w.f16": { dtype: "F16", shape: [4], data: new Float32Array([1, -2, 65504, 2 ** -24]) },
      "w.bf16": { dtype: "BF16", shape: [2, 2], data: new Float32Array([1, -2, 3.140625, 2 ** -133]) },
      "ids.i32": { dtype: "I32", shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) },
      "ids.i64": { dtype: "I64", shape: [3], data: new Int32Array([-2147483648, -1, 2147483647]) },
      "bytes.u8": { dtype: "U8", shape: [3], data: new Uint8Array([0, 128, 255]) },
      "mask.bool": { dtype: "BOOL", shape: [1, 3], data: new Uint8Array([1, 0, 1]) },
      "scalar.f32": { dtype: "F32", shape: [], data: new Float32Array([-7.5]) },
      "empty.f32": { dtype: "F32", shape: [2, 0], data: new Float32Array(0) },
    };
    const oursPath = path.join(dir, "ours.safetensors");
    theirsPath = path.join(dir, "theirs.safetensors");
    writeSafetensorsFile(oursPath, ours, { format: "pt", written_by: "softprompt-kit" });
    const run = spawnSync(PYTHON, ["-c", SCRIPT, oursPath, theirsPath], { encoding: "utf8", timeout: 60_000 });
    assert.equal(run.status, 0, `python failed:\n${run.stderr}`);
    report = JSON.parse(run.stdout) as PythonReport;
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("Python reads every tensor we write with the same dtype, shape and bits", () => {
    assert.deepEqual(Object.keys(report.tensors).sort(), Object.keys(ours).sort());
    for (const [name, t] of Object.entries(ours)) {
      const got = report.tensors[name]!;
      assert.equal(got.dtype, t.dtype, name);
      assert.deepEqual(got.shape, t.shape, name);
      assert.deepEqual(got.values, asReported(t), name);
    }
    assert.deepEqual(report.metadata, { format: "pt", written_by: "softprompt-kit" });
    assert.equal((8 + report.header_len) % 8, 0);
    assert.match(report.header_tail, /^ *$/);
  });

  it("we read a file Python wrote (unaligned layout, all dtypes, scalar, empty, metadata)", () => {
    const { tensors, metadata } = readSafetensorsFile(theirsPath);
    assert.deepEqual(metadata, { format: "pt", source: "python" });
    assert.deepEqual(Array.from(tensors.u8!.data), [7, 0, 255]);
    assert.deepEqual(
      [tensors.ids!.dtype, tensors.ids!.shape, Array.from(tensors.ids!.data)],
      ["I64", [2, 2], [1, -2, 3, 2147483647]],
    );
    assert.deepEqual([tensors.i32!.dtype, Array.from(tensors.i32!.data)], ["I32", [-5, 6]]);
    assert.deepEqual([tensors.mask!.dtype, Array.from(tensors.mask!.data)], ["BOOL", [1, 0, 1]]);
    assert.deepEqual(
      [tensors.scalar!.dtype, tensors.scalar!.shape, Array.from(tensors.scalar!.data)],
      ["F32", [], [2.5]],
    );
    assert.deepEqual([tensors.empty!.shape, tensors.empty!.data.length], [[0, 3], 0]);
    assert.deepEqual(asReported(tensors.src_f16!), report.f16_as_f32, "F16 widening differs from torch");
    assert.deepEqual(asReported(tensors.src_bf16!), report.bf16_as_f32, "BF16 widening differs from torch");
  });

  it("our F16/BF16 narrowing rounds exactly like torch (ties, subnormals, overflow, NaN)", () => {
    const src = tensorsSrc(theirsPath);
    assert.equal(src.length, 420);
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    assert.deepEqual(Array.from(f32BitsToF16(bits)), report.f16_bits);
    // NaN: torch's vectorised CPU path writes 0xffff, its scalar path 0x7fc0 (ours); both are NaN.
    const isBf16NaN = (b: number): boolean => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
    const ourBf16 = Array.from(f32BitsToBf16(bits));
    assert.deepEqual(ourBf16.map(isBf16NaN), report.bf16_bits.map(isBf16NaN));
    assert.ok(ourBf16.some(isBf16NaN));
    assert.deepEqual(
      ourBf16.filter((b) => !isBf16NaN(b)),
      report.bf16_bits.filter((b) => !isBf16NaN(b)),
    );
  });
});

function tensorsSrc(file: string): Float32Array {
  const t = readSafetensorsFile(file).tensors.src!;
  assert.equal(t.dtype, "F32");
  return t.data as Float32Array;
}

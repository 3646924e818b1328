import assert from "node:assert/strict";
import { bf16BitsToF32, f16BitsToF32, f32BitsToBf16, f32BitsToF16 } from "../../lib/io/float16";

describe("io/float16", () => {
  it("narrows to F16 with round-to-nearest-even, subnormals and overflow", () => {
    const inputs = [
      1,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      65504,
      65519,
      65520,
      1e6,
      2 ** -25,
      2 ** -25 * 1.0001,
      1.5 * 2 ** -24,
      2.5 * 2 ** -24,
      -0,
      -1.5,
    ];
    const bits = f32BitsToF16(new Uint32Array(new Float32Array(inputs).buffer));
    assert.deepEqual(
      Array.from(bits),
      [0x3c00, 0x3c00, 0x3c02, 0x7bff, 0x7bff, 0x7c00, 0x7c00, 0x0000, 0x0001, 0x0002, 0x0002, 0x8000, 0xbe00],
    );
  });

  it("narrows to BF16 with round-to-nearest-even and keeps NaN a NaN", () => {
    const bits = f32BitsToBf16(
      new Uint32Array([0x3f808000, 0x3f818000, 0x3f808001, 0x7f7fffff, 0x7f800001, 0xff800000]),
    );
    assert.deepEqual(Array.from(bits), [0x3f80, 0x3f82, 0x3f81, 0x7f80, 0x7fc0, 0xff80]);
  });

  it("widening then narrowing is the identity on all 65536 bit patterns of both formats", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f16 = f16BitsToF32(all);
    const bf16 = bf16BitsToF32(all);
    assert.deepEqual(f32BitsToF16(new Uint32Array(f16.buffer)), all);
    assert.deepEqual(f32BitsToBf16(new Uint32Array(bf16.buffer)), all);
    assert.equal(f16[0x3c00], 1);
    assert.equal(bf16[0x3f80], 1);
  });
});

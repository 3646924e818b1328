/**
 * Exact conversions between IEEE float32 and the 16-bit float formats used by checkpoints:
 * float16 (IEEE binary16: 1 sign, 5 exponent, 10 mantissa bits) and bfloat16 (the top 16 bits of a
 * float32: 1 sign, 8 exponent, 7 mantissa bits). Everything works on raw bit patterns, never on JS
 * numbers, so signed zeros, subnormals, infinities and NaN payloads are handled exactly.
 *
 * Widening is exact. Narrowing rounds to nearest, ties to even (as PyTorch/NumPy do); float16
 * overflows to +-inf; NaN stays NaN keeping the top payload bits (so a 16-bit NaN survives
 * widen -> narrow bitwise).
 */

let f16Table: Uint32Array | undefined;

/** float32 bit pattern of every float16 bit pattern (65536 entries, built once). */
function f16ToF32Table(): Uint32Array {
  if (f16Table) return f16Table;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0x1f) {
      table[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN (payload kept)
    } else if (exp !== 0) {
      table[h] = (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
    } else if (mant === 0) {
      table[h] = sign >>> 0; // +-0
    } else {
      let e = 1; // subnormal: normalise
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      table[h] = (sign | ((e - 15 + 127) << 23) | ((mant & 0x3ff) << 13)) >>> 0;
    }
  }
  f16Table = table;
  return table;
}

/** Widen float16 bit patterns to float32 (exact). */
export function f16BitsToF32(bits: Uint16Array): Float32Array {
  const table = f16ToF32Table();
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return new Float32Array(out.buffer);
}

/** Widen bfloat16 bit patterns to float32 (exact: bf16 is the top half of a float32). */
export function bf16BitsToF32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
  return new Float32Array(out.buffer);
}

/** Narrow float32 bit patterns to float16, round-to-nearest-even; overflow -> inf; NaN stays NaN. */
export function f32BitsToF16(bits: Uint32Array): Uint16Array {
  const out = new Uint16Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    let h: number;
    if (exp === 0xff) {
      h = 0x7c00 | (mant >>> 13); // inf, or NaN keeping the top payload bits
      if (mant !== 0 && h === 0x7c00) h = 0x7c01; // payload truncated to zero: stay NaN
    } else {
      const e = exp - 127 + 15;
      if (e >= 0x1f) {
        h = 0x7c00;
      } else if (e <= 0) {
        if (e < -10) {
          h = 0; // below half the smallest subnormal
        } else {
          const m = mant | 0x800000;
          const shift = 14 - e;
          const q = m >>> shift;
          const rem = m & ((1 << shift) - 1);
          const half = 1 << (shift - 1);
          h = rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
        }
      } else {
        const q = (e << 10) | (mant >>> 13);
        const rem = mant & 0x1fff;
        h = rem > 0x1000 || (rem === 0x1000 && (q & 1) === 1) ? q + 1 : q; // a carry may reach inf: correct
      }
    }
    out[i] = sign | h;
  }
  return out;
}

/** Narrow float32 bit patterns to bfloat16, round-to-nearest-even; NaN stays NaN. */
export function f32BitsToBf16(bits: Uint32Array): Uint16Array {
  const out = new Uint16Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7fffffff) > 0x7f800000) {
      const hi = x >>> 16;
      out[i] = (hi & 0x7f) === 0 ? hi | 0x40 : hi; // truncated payload must stay non-zero
    } else {
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  }
  return out;
}

/*
 * WebAssembly SIMD kernels for the tfjs wasm backend (float32, single-threaded).
 *
 *   batch_matmul: C[b] = op(A[b]) @ op(B[b]) for b < batch, op = identity or transpose per flag.
 *   transpose2d:  dst[cols, rows] = src[rows, cols]^T (cache-blocked 4 x 4 SIMD transposes).
 *   heap_base:    first free byte of linear memory; the JS loader places its buffers from there.
 *
 * Layout (row-major, batches contiguous):
 *   A[b] is [m, k] (trans_a = 0) or [k, m] (trans_a = 1),
 *   B[b] is [k, n] (trans_b = 0) or [n, k] (trans_b = 1),
 *   C[b] is [m, n].
 *
 * batch_matmul follows the GotoBLAS scheme: op(B) is packed into zero-padded column panels NR wide
 * (KC x NC block), op(A) into zero-padded row panels MR tall (KC x MR), and an MR x NR register-blocked
 * micro-kernel (f32x4 accumulators, splatted A values) multiplies them. Packing absorbs both transposes,
 * so all four flag combinations run the same micro-kernel; tails are handled by the zero padding plus a
 * masked store.
 *
 * Build: scripts/build-kernels.sh (clang --target=wasm32 -msimd128, no libc).
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

#ifndef MR
/* Rows of the micro-tile. 4 x 8 measured fastest here (~55 GFLOP/s raw); 6x8, 8x8, 5x8, 4x12 and 2x16 ran at
 * 25-45, presumably because their accumulators no longer fit the 16 SIMD registers V8 allocates on x64. */
#define MR 4
#endif
#define NR 8 /* columns of the micro-tile: two f32x4 */
#define KC 256 /* depth of a packed block */
#define NC 256 /* columns of a packed B block (KC x NC floats = 256 KiB, sized for L2) */

static float pack_a[KC * MR] __attribute__((aligned(16)));
static float pack_b[KC * NC] __attribute__((aligned(16)));

extern unsigned char __heap_base;

EXPORT("heap_base") unsigned int heap_base(void) { return (unsigned int)&__heap_base; }

/* Packs op(A)[i0 .. i0+mr, p0 .. p0+kc] as kc groups of MR floats (rows past mr are zero).
 * op(A)(i, p) = a[i * rs + p * cs]. */
static void pack_rows(const float *a, int rs, int cs, int i0, int mr, int p0, int kc) {
  const float *src = a + i0 * rs + p0 * cs;
  if (mr == MR && rs == 1) { /* transposed A: the MR values for each p are contiguous */
    for (int p = 0; p < kc; p++) {
      const float *s = src + p * cs;
      float *d = pack_a + p * MR;
      for (int i = 0; i < MR; i++) d[i] = s[i];
    }
    return;
  }
  for (int i = 0; i < MR; i++) {
    float *d = pack_a + i;
    if (i < mr) {
      const float *s = src + i * rs;
      for (int p = 0; p < kc; p++) d[p * MR] = s[p * cs];
    } else {
      for (int p = 0; p < kc; p++) d[p * MR] = 0.0f;
    }
  }
}

/* Packs op(B)[p0 .. p0+kc, j0 .. j0+nc] as ceil(nc / NR) panels of kc x NR floats (columns past nc are
 * zero). op(B)(p, j) = b[p * rs + j * cs]. */
static void pack_cols(const float *b, int rs, int cs, int p0, int kc, int j0, int nc) {
  for (int jp = 0; jp < nc; jp += NR) {
    const int nr = nc - jp < NR ? nc - jp : NR;
    const float *src = b + p0 * rs + (j0 + jp) * cs;
    float *dst = pack_b + jp * kc;
    if (nr == NR && cs == 1) { /* plain B: each row segment is contiguous */
      for (int p = 0; p < kc; p++) {
        const float *s = src + p * rs;
        wasm_v128_store(dst + p * NR, wasm_v128_load(s));
        wasm_v128_store(dst + p * NR + 4, wasm_v128_load(s + 4));
      }
    } else if (nr == NR && rs == 1) { /* transposed B: each column is contiguous; 4x4 block transposes */
      int p = 0;
      for (; p + 4 <= kc; p += 4) {
        for (int h = 0; h < NR; h += 4) {
          v128_t r0 = wasm_v128_load(src + (h + 0) * cs + p);
          v128_t r1 = wasm_v128_load(src + (h + 1) * cs + p);
          v128_t r2 = wasm_v128_load(src + (h + 2) * cs + p);
          v128_t r3 = wasm_v128_load(src + (h + 3) * cs + p);
          v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5);
          v128_t t1 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);
          v128_t t2 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
          v128_t t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
          wasm_v128_store(dst + (p + 0) * NR + h, wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5));
          wasm_v128_store(dst + (p + 1) * NR + h, wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7));
          wasm_v128_store(dst + (p + 2) * NR + h, wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5));
          wasm_v128_store(dst + (p + 3) * NR + h, wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7));
        }
      }
      for (; p < kc; p++)
        for (int j = 0; j < NR; j++) dst[p * NR + j] = src[j * cs + p];
    } else {
      for (int p = 0; p < kc; p++)
        for (int j = 0; j < NR; j++) dst[p * NR + j] = j < nr ? src[p * rs + j * cs] : 0.0f;
    }
  }
}

/* c[MR x NR] (row stride ldc; only mr x nr written) = or += pack_a-panel @ b-panel. */
static void micro_kernel(int kc, const float *bp, float *c, int ldc, int mr, int nr, int accumulate) {
  const float *ap = pack_a;
  v128_t acc[MR][2];
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = wasm_f32x4_splat(0.0f);
  for (int p = 0; p < kc; p++) {
    const v128_t b0 = wasm_v128_load(bp);
    const v128_t b1 = wasm_v128_load(bp + 4);
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
      const v128_t a = wasm_v128_load32_splat(ap + i);
      acc[i][0] = wasm_f32x4_add(acc[i][0], wasm_f32x4_mul(a, b0));
      acc[i][1] = wasm_f32x4_add(acc[i][1], wasm_f32x4_mul(a, b1));
    }
    ap += MR;
    bp += NR;
  }
  if (mr == MR && nr == NR) {
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
      float *row = c + i * ldc;
      if (accumulate) {
        acc[i][0] = wasm_f32x4_add(acc[i][0], wasm_v128_load(row));
        acc[i][1] = wasm_f32x4_add(acc[i][1], wasm_v128_load(row + 4));
      }
      wasm_v128_store(row, acc[i][0]);
      wasm_v128_store(row + 4, acc[i][1]);
    }
    return;
  }
  float tile[MR * NR] __attribute__((aligned(16)));
  for (int i = 0; i < MR; i++) {
    wasm_v128_store(tile + i * NR, acc[i][0]);
    wasm_v128_store(tile + i * NR + 4, acc[i][1]);
  }
  for (int i = 0; i < mr; i++) {
    float *row = c + i * ldc;
    for (int j = 0; j < nr; j++) row[j] = accumulate ? row[j] + tile[i * NR + j] : tile[i * NR + j];
  }
}

/* One [m, n] product: c = op(a) @ op(b). */
static void matmul(const float *a, const float *b, float *c, int m, int n, int k, int trans_a, int trans_b) {
  const int a_rs = trans_a ? 1 : k, a_cs = trans_a ? m : 1;
  const int b_rs = trans_b ? 1 : n, b_cs = trans_b ? k : 1;
  if (k == 0) {
    for (int i = 0; i < m * n; i++) c[i] = 0.0f;
    return;
  }
  for (int jc = 0; jc < n; jc += NC) {
    const int nc = n - jc < NC ? n - jc : NC;
    for (int pc = 0; pc < k; pc += KC) {
      const int kc = k - pc < KC ? k - pc : KC;
      pack_cols(b, b_rs, b_cs, pc, kc, jc, nc);
      for (int ic = 0; ic < m; ic += MR) {
        const int mr = m - ic < MR ? m - ic : MR;
        pack_rows(a, a_rs, a_cs, ic, mr, pc, kc);
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = nc - jr < NR ? nc - jr : NR;
          micro_kernel(kc, pack_b + jr * kc, c + ic * n + jc + jr, n, mr, nr, pc > 0);
        }
      }
    }
  }
}

EXPORT("batch_matmul")
void batch_matmul(const float *a, const float *b, float *c, int batch, int m, int n, int k, int trans_a,
                  int trans_b) {
  for (int i = 0; i < batch; i++) {
    matmul(a + i * m * k, b + i * k * n, c + i * m * n, m, n, k, trans_a, trans_b);
  }
}

/* dst[cols, rows] = src[rows, cols]^T, in blocks of 64 source rows x 8 source columns, each done as 4 x 4 SIMD
 * transposes. The narrow block keeps few destination rows live (8 x 256 bytes), which avoids cache-set conflicts
 * when a stride is a power of two: measured 0.2-0.4 ns/element, vs 0.6-1.4 for 32 x 32 blocks. */
EXPORT("transpose2d") void transpose2d(const float *src, float *dst, int rows, int cols) {
  enum { BR = 64, BC = 8 };
  for (int r0 = 0; r0 < rows; r0 += BR) {
    const int r1 = r0 + BR < rows ? r0 + BR : rows;
    for (int c0 = 0; c0 < cols; c0 += BC) {
      const int c1 = c0 + BC < cols ? c0 + BC : cols;
      int r = r0;
      for (; r + 4 <= r1; r += 4) {
        int c = c0;
        for (; c + 4 <= c1; c += 4) {
          v128_t x0 = wasm_v128_load(src + (r + 0) * cols + c);
          v128_t x1 = wasm_v128_load(src + (r + 1) * cols + c);
          v128_t x2 = wasm_v128_load(src + (r + 2) * cols + c);
          v128_t x3 = wasm_v128_load(src + (r + 3) * cols + c);
          v128_t t0 = wasm_i32x4_shuffle(x0, x1, 0, 4, 1, 5);
          v128_t t1 = wasm_i32x4_shuffle(x0, x1, 2, 6, 3, 7);
          v128_t t2 = wasm_i32x4_shuffle(x2, x3, 0, 4, 1, 5);
          v128_t t3 = wasm_i32x4_shuffle(x2, x3, 2, 6, 3, 7);
          wasm_v128_store(dst + (c + 0) * rows + r, wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5));
          wasm_v128_store(dst + (c + 1) * rows + r, wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7));
          wasm_v128_store(dst + (c + 2) * rows + r, wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5));
          wasm_v128_store(dst + (c + 3) * rows + r, wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7));
        }
        for (; c < c1; c++)
          for (int i = 0; i < 4; i++) dst[c * rows + r + i] = src[(r + i) * cols + c];
      }
      for (; r < r1; r++)
        for (int c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
    }
  }
}

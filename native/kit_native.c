/*
 * Native CPU kernels for softprompt-kit: an N-API addon (no compile-time BLAS dependency).
 *
 * Matrix products go to the system BLAS's cblas_sgemm, found with dlopen at run time (OpenBLAS first), so the
 * addon builds on any machine with a C compiler and Node's headers and reports clearly when no BLAS is there.
 * The elementwise chains a transformer step spends its remaining time in are single fused passes here:
 * LayerNorm forward/backward, the MLP activations and their gradients, causal masked attention (scores, softmax
 * and context per head, reading Q/K/V in place from the fused [N, 3D] projection) with its backward pass, and
 * softmax cross-entropy with its gradient.
 *
 * Every function takes Float32Arrays (views of the tfjs wasm heap, in practice) and sizes, checks that each
 * array is long enough for the sizes given before touching memory, and throws a JS error naming the argument
 * otherwise: a wrong size is an exception, never an out-of-bounds write.
 *
 * Layouts are row-major. Functions that write an output never read it first unless documented (beta = 1).
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- BLAS, resolved at run time ------------------------------------------------------------------------ */

enum { CblasRowMajor = 101 };
enum { CblasNoTrans = 111, CblasTrans = 112 };
typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_config_fn)(void);

static void *blas_handle = NULL;
static sgemm_fn blas_sgemm = NULL;
static set_threads_fn blas_set_threads = NULL;
static get_threads_fn blas_get_threads = NULL;
static get_config_fn blas_get_config = NULL;
static char blas_path[1024] = "";
/* Threads that split large products by rows (OpenMP builds; see setThreads). */
static int split_threads = 1;

/* ---- N-API helpers ------------------------------------------------------------------------------------ */

#define CHECK_NAPI(env, call)                                                                                   \
  do {                                                                                                          \
    if ((call) != napi_ok) {                                                                                    \
      napi_throw_error((env), NULL, "kit-native: internal N-API call failed: " #call);                          \
      return NULL;                                                                                              \
    }                                                                                                           \
  } while (0)

#define MAX_ARGS 20

typedef struct {
  napi_env env;
  const char *fn;
  size_t argc;
  napi_value argv[MAX_ARGS];
  int failed;
} Args;

static int args_init(Args *a, napi_env env, napi_callback_info info, const char *fn, size_t expected) {
  a->env = env;
  a->fn = fn;
  a->argc = MAX_ARGS;
  a->failed = 0;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "kit-native: cannot read call arguments");
    return 0;
  }
  if (a->argc != expected) {
    char msg[256];
    snprintf(msg, sizeof msg, "kit-native: %s expects %zu arguments, got %zu", fn, expected, a->argc);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

static void fail(Args *a, const char *what) {
  if (a->failed) return;
  char msg[512];
  snprintf(msg, sizeof msg, "kit-native: %s: %s", a->fn, what);
  napi_throw_error(a->env, NULL, msg);
  a->failed = 1;
}

static int64_t arg_int(Args *a, size_t i, const char *name) {
  if (a->failed) return 0;
  double v = 0;
  if (napi_get_value_double(a->env, a->argv[i], &v) != napi_ok || v != floor(v) || v < 0 || v > 2147483647.0) {
    char msg[256];
    snprintf(msg, sizeof msg, "argument %zu (%s) must be a non-negative integer", i, name);
    fail(a, msg);
    return 0;
  }
  return (int64_t)v;
}

static double arg_double(Args *a, size_t i, const char *name) {
  if (a->failed) return 0;
  double v = 0;
  if (napi_get_value_double(a->env, a->argv[i], &v) != napi_ok) {
    char msg[256];
    snprintf(msg, sizeof msg, "argument %zu (%s) must be a number", i, name);
    fail(a, msg);
  }
  return v;
}

static int arg_is_null(Args *a, size_t i) {
  napi_valuetype t;
  if (napi_typeof(a->env, a->argv[i], &t) != napi_ok) return 0;
  return t == napi_null || t == napi_undefined;
}

/* A typed array of the given element type with at least `need` elements (optional: NULL allowed if nullable). */
static void *arg_array(Args *a, size_t i, const char *name, napi_typedarray_type want, int64_t need, int nullable) {
  if (a->failed) return NULL;
  if (nullable && arg_is_null(a, i)) return NULL;
  bool is_ta = false;
  char msg[320];
  const char *want_name = want == napi_float32_array ? "Float32Array" : "Int32Array";
  if (napi_is_typedarray(a->env, a->argv[i], &is_ta) != napi_ok || !is_ta) {
    snprintf(msg, sizeof msg, "argument %zu (%s) must be a %s", i, name, want_name);
    fail(a, msg);
    return NULL;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(a->env, a->argv[i], &type, &length, &data, &buffer, &offset) != napi_ok) {
    snprintf(msg, sizeof msg, "argument %zu (%s): cannot read the typed array", i, name);
    fail(a, msg);
    return NULL;
  }
  if (type != want) {
    snprintf(msg, sizeof msg, "argument %zu (%s) must be a %s (wrong element type: float32 tensors only)", i, name,
             want_name);
    fail(a, msg);
    return NULL;
  }
  if ((int64_t)length < need) {
    snprintf(msg, sizeof msg, "argument %zu (%s) has %zu elements, the sizes given need %lld", i, name, length,
             (long long)need);
    fail(a, msg);
    return NULL;
  }
  if (need > 0 && data == NULL) {
    snprintf(msg, sizeof msg, "argument %zu (%s) is detached", i, name);
    fail(a, msg);
    return NULL;
  }
  return data;
}

static float *arg_f32(Args *a, size_t i, const char *name, int64_t need) {
  return (float *)arg_array(a, i, name, napi_float32_array, need, 0);
}

static napi_value undefined_value(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static int need_blas(Args *a) {
  if (blas_sgemm) return 1;
  fail(a, "no BLAS library is loaded (call init first)");
  return 0;
}

/* ---- fast exp (vectorisable; relative error < 2e-7 over the float range) -------------------------------- */

static inline float exp_approx(float x) {
  /* e^x = 2^n * e^r, n = round(x / ln2), r = x - n ln2 in [-ln2/2, ln2/2]; Cephes' expf polynomial on r.
   Above 88 the result saturates at e^88 (callers subtract a row max or only need 1/(1+e^x)). */
  const float hi = 88.0f, lo = -87.0f; /* keeps 2^n a normal float: n in [-125, 127] */
  float xc = x > hi ? hi : (x < lo ? lo : x);
  float n = floorf(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union {
    int32_t i;
    float f;
  } pow2 = {.i = ((int32_t)n + 127) << 23};
  float y = p * pow2.f;
  return x != x ? x : (x < lo ? 0.0f : y); /* NaN stays NaN; far below the range underflows to 0 */
}

/* Row helpers: small functions with restrict pointers so that the compiler vectorises each loop. */

/* Max of a row (NaN-blind: callers check row_nonfinite first). */
static float row_max(const float *restrict x, int64_t n) {
  float m = -INFINITY;
  for (int64_t j = 0; j < n; j++) m = fmaxf(m, x[j]);
  return m;
}

/* 1 if any element is NaN or infinite. */
static int row_nonfinite(const float *restrict x, int64_t n) {
  int bad = 0;
  for (int64_t j = 0; j < n; j++) bad |= (x[j] - x[j]) != 0.0f; /* inf - inf and NaN - NaN are NaN */
  return bad;
}

static float row_sum(const float *restrict x, int64_t n) {
  float s = 0.0f;
  for (int64_t j = 0; j < n; j++) s += x[j];
  return s;
}

/* x[j] = exp(x[j] - mx); returns the sum (two loops: each vectorises, the fused one does not). */
static float exp_shift_sum(float *restrict x, int64_t n, float mx) {
  for (int64_t j = 0; j < n; j++) x[j] = exp_approx(x[j] - mx);
  return row_sum(x, n);
}

static void row_scale(float *restrict x, int64_t n, float s) {
  for (int64_t j = 0; j < n; j++) x[j] *= s;
}

/* Adds the causal key mask of query i: keys j > i or with keyMask[j] == 0 get MASKED added. */
static void row_mask(float *restrict x, const float *restrict km, int64_t n, int64_t i, float masked) {
  for (int64_t j = 0; j < n; j++) x[j] += (j <= i && km[j] != 0.0f) ? 0.0f : masked;
}

static float row_dot(const float *restrict a, const float *restrict b, int64_t n) {
  float s = 0.0f;
  for (int64_t j = 0; j < n; j++) s += a[j] * b[j];
  return s;
}

/* ---- init / threads ----------------------------------------------------------------------------------- */

/* init(candidates: string[]) -> { library, threadControl }: opens the first library exporting cblas_sgemm. */
static napi_value js_init(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "init", 1)) return NULL;
  if (!blas_sgemm) {
    uint32_t count = 0;
    if (napi_get_array_length(env, a.argv[0], &count) != napi_ok) {
      napi_throw_type_error(env, NULL, "kit-native: init expects an array of library names");
      return NULL;
    }
    char tried[2048] = "";
    for (uint32_t i = 0; i < count && !blas_sgemm; i++) {
      napi_value item;
      char name[1024];
      size_t len = 0;
      CHECK_NAPI(env, napi_get_element(env, a.argv[0], i, &item));
      if (napi_get_value_string_utf8(env, item, name, sizeof name, &len) != napi_ok) continue;
      void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (!h) {
        const char *why = dlerror();
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s%s (%s)", used ? "; " : "", name, why ? why : "not found");
        continue;
      }
      sgemm_fn f = (sgemm_fn)dlsym(h, "cblas_sgemm");
      if (!f) {
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s%s (no cblas_sgemm)", used ? "; " : "", name);
        dlclose(h);
        continue;
      }
      blas_handle = h;
      blas_sgemm = f;
      blas_set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
      blas_get_threads = (get_threads_fn)dlsym(h, "openblas_get_num_threads");
      blas_get_config = (get_config_fn)dlsym(h, "openblas_get_config");
      snprintf(blas_path, sizeof blas_path, "%s", name);
    }
    if (!blas_sgemm) {
      char msg[2300];
      snprintf(msg, sizeof msg, "kit-native: no BLAS library with cblas_sgemm could be opened: %s", tried);
      napi_throw_error(env, NULL, msg);
      return NULL;
    }
  }
  napi_value out, lib, ctl, cfg;
  CHECK_NAPI(env, napi_create_object(env, &out));
  CHECK_NAPI(env, napi_create_string_utf8(env, blas_path, NAPI_AUTO_LENGTH, &lib));
  CHECK_NAPI(env, napi_get_boolean(env, blas_set_threads != NULL, &ctl));
  CHECK_NAPI(env, napi_create_string_utf8(env, blas_get_config ? blas_get_config() : "", NAPI_AUTO_LENGTH, &cfg));
  CHECK_NAPI(env, napi_set_named_property(env, out, "library", lib));
  CHECK_NAPI(env, napi_set_named_property(env, out, "threadControl", ctl));
  CHECK_NAPI(env, napi_set_named_property(env, out, "config", cfg));
  return out;
}

/* setThreads(n): BLAS threads (OpenBLAS only; a no-op returning false elsewhere). */
static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "setThreads", 1)) return NULL;
  int64_t n = arg_int(&a, 0, "threads");
  if (a.failed) return NULL;
  if (n < 1) {
    fail(&a, "threads must be at least 1");
    return NULL;
  }
  napi_value ok;
#ifdef _OPENMP
  /* one pool: the kit's OpenMP threads split products by rows and run attention's (batch, head) loop; BLAS
     runs single-threaded inside them. KIT_SPLIT=0 gives the threads to BLAS instead (to compare the two). */
  const char *mode = getenv("KIT_SPLIT");
  int split = !(mode && strcmp(mode, "0") == 0);
  omp_set_num_threads((int)n);
  split_threads = split ? (int)n : 1;
  if (blas_set_threads) blas_set_threads(split ? 1 : (int)n);
#else
  if (blas_set_threads) blas_set_threads((int)n);
#endif
  CHECK_NAPI(env, napi_get_boolean(env, blas_set_threads != NULL, &ok));
  return ok;
}

static napi_value js_get_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK_NAPI(env, napi_create_int32(env, blas_get_threads ? blas_get_threads() : 0, &out));
  return out;
}

/* ---- gemm ------------------------------------------------------------------------------------------- */

/* Index one past the last element a (rows x cols stored with leading dimension ld) touches, batch-strided. */
static int64_t extent(int64_t batch, int64_t stride, int64_t rows, int64_t cols, int64_t ld) {
  if (batch == 0 || rows == 0 || cols == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

static void sgemm1(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                   float beta, float *c, int ldc);

/*
 * C = alpha op(A) op(B) + beta C. With OpenMP, a product large enough to share is split by rows of C across the
 * kit's threads, each calling single-threaded BLAS on its slice: one thread pool for everything (BLAS's own pool
 * is kept at one thread, so two pools never spin against each other on the same cores).
 */
static void sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                  float beta, float *c, int ldc) {
  const int t = split_threads;
  if (t <= 1 || m < 2 * t || (double)m * n * k < 2e5) {
    sgemm1(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(t)
  for (int part = 0; part < t; part++) {
    int r0 = (int)((int64_t)m * part / t), r1 = (int)((int64_t)m * (part + 1) / t);
    const float *ap = ta ? a + r0 : a + (int64_t)r0 * lda;
    sgemm1(ta, tb, r1 - r0, n, k, alpha, ap, lda, b, ldb, beta, c + (int64_t)r0 * ldc, ldc);
  }
}

static void sgemm1(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                   float beta, float *c, int ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) { /* BLAS leaves C * beta; make it explicit */
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) c[(int64_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(int64_t)i * ldc + j];
    return;
  }
  blas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
             b, ldb, beta, c, ldc);
}

/*
 * gemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, batch, strideA, strideB, strideC):
 * C[z] = alpha op(A[z]) op(B[z]) + beta C[z], z < batch; op(A) is m x k, op(B) is k x n.
 */
static napi_value js_gemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "gemm", 17) || !need_blas(&a)) return NULL;
  int64_t ta = arg_int(&a, 0, "transA"), tb = arg_int(&a, 1, "transB");
  int64_t m = arg_int(&a, 2, "m"), n = arg_int(&a, 3, "n"), k = arg_int(&a, 4, "k");
  float alpha = (float)arg_double(&a, 5, "alpha");
  int64_t lda = arg_int(&a, 7, "lda"), ldb = arg_int(&a, 9, "ldb");
  float beta = (float)arg_double(&a, 10, "beta");
  int64_t ldc = arg_int(&a, 12, "ldc"), batch = arg_int(&a, 13, "batch");
  int64_t sa = arg_int(&a, 14, "strideA"), sb = arg_int(&a, 15, "strideB"), sc = arg_int(&a, 16, "strideC");
  if (a.failed) return NULL;
  int64_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
  if ((ac > lda && ar > 0) || (bc > ldb && br > 0) || (n > ldc && m > 0)) {
    fail(&a, "a leading dimension is smaller than its matrix's row length");
    return NULL;
  }
  float *A = arg_f32(&a, 6, "A", extent(batch, sa, ar, ac, lda));
  float *B = arg_f32(&a, 8, "B", extent(batch, sb, br, bc, ldb));
  float *C = arg_f32(&a, 11, "C", extent(batch, sc, m, n, ldc));
  if (a.failed) return NULL;
  for (int64_t z = 0; z < batch; z++) {
    sgemm((int)ta, (int)tb, (int)m, (int)n, (int)k, alpha, A + z * sa, (int)lda, B + z * sb, (int)ldb, beta,
          C + z * sc, (int)ldc);
  }
  return undefined_value(env);
}

/* linearForward(x, w, bias|null, y, rows, in, out): y = x @ w (+ bias), w is [in, out] (or [out, in] if transW). */
static napi_value js_linear_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "linearForward", 8) || !need_blas(&a)) return NULL;
  int64_t rows = arg_int(&a, 4, "rows"), in = arg_int(&a, 5, "in"), out = arg_int(&a, 6, "out");
  int64_t transW = arg_int(&a, 7, "transW");
  float *x = arg_f32(&a, 0, "x", rows * in);
  float *w = arg_f32(&a, 1, "w", in * out);
  float *bias = (float *)arg_array(&a, 2, "bias", napi_float32_array, out, 1);
  float *y = arg_f32(&a, 3, "y", rows * out);
  if (a.failed) return NULL;
  if (bias) {
    for (int64_t i = 0; i < rows; i++) memcpy(y + i * out, bias, (size_t)out * sizeof(float));
  }
  sgemm(0, (int)transW, (int)rows, (int)out, (int)in, 1.0f, x, (int)in, w, transW ? (int)in : (int)out,
        bias ? 1.0f : 0.0f, y, (int)out);
  return undefined_value(env);
}

/* colSum(x, rows, cols, out): out[j] = sum_i x[i, j] (bias and LayerNorm-beta gradients). */
static napi_value js_col_sum(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "colSum", 4)) return NULL;
  int64_t rows = arg_int(&a, 1, "rows"), cols = arg_int(&a, 2, "cols");
  float *x = arg_f32(&a, 0, "x", rows * cols);
  float *out = arg_f32(&a, 3, "out", cols);
  if (a.failed) return NULL;
  for (int64_t j = 0; j < cols; j++) out[j] = 0.0f;
  for (int64_t i = 0; i < rows; i++) {
    const float *r = x + i * cols;
    for (int64_t j = 0; j < cols; j++) out[j] += r[j];
  }
  return undefined_value(env);
}

/* ---- LayerNorm ---------------------------------------------------------------------------------------- */

/* layerNormForward(x, gamma, beta, y, mean, rstd, rows, d, eps) */
static napi_value js_layer_norm_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "layerNormForward", 9)) return NULL;
  int64_t rows = arg_int(&a, 6, "rows"), d = arg_int(&a, 7, "d");
  float eps = (float)arg_double(&a, 8, "eps");
  float *x = arg_f32(&a, 0, "x", rows * d);
  float *gamma = arg_f32(&a, 1, "gamma", d);
  float *beta = arg_f32(&a, 2, "beta", d);
  float *y = arg_f32(&a, 3, "y", rows * d);
  float *mean = arg_f32(&a, 4, "mean", rows);
  float *rstd = arg_f32(&a, 5, "rstd", rows);
  if (a.failed) return NULL;
  for (int64_t i = 0; i < rows; i++) {
    const float *xr = x + i * d;
    float *yr = y + i * d;
    float s = 0.0f;
    for (int64_t j = 0; j < d; j++) s += xr[j];
    float mu = s / (float)d;
    float v = 0.0f;
    for (int64_t j = 0; j < d; j++) {
      float c = xr[j] - mu;
      v += c * c;
    }
    float rs = 1.0f / sqrtf(v / (float)d + eps);
    for (int64_t j = 0; j < d; j++) yr[j] = (xr[j] - mu) * rs * gamma[j] + beta[j];
    mean[i] = mu;
    rstd[i] = rs;
  }
  return undefined_value(env);
}

/* layerNormBackward(dy, x, gamma, mean, rstd, dx|null, dgamma|null, dbeta|null, rows, d): each output optional */
static napi_value js_layer_norm_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "layerNormBackward", 10)) return NULL;
  int64_t rows = arg_int(&a, 8, "rows"), d = arg_int(&a, 9, "d");
  float *dy = arg_f32(&a, 0, "dy", rows * d);
  float *x = arg_f32(&a, 1, "x", rows * d);
  float *gamma = arg_f32(&a, 2, "gamma", d);
  float *mean = arg_f32(&a, 3, "mean", rows);
  float *rstd = arg_f32(&a, 4, "rstd", rows);
  float *dx = (float *)arg_array(&a, 5, "dx", napi_float32_array, rows * d, 1);
  float *dgamma = (float *)arg_array(&a, 6, "dgamma", napi_float32_array, d, 1);
  float *dbeta = (float *)arg_array(&a, 7, "dbeta", napi_float32_array, d, 1);
  if (a.failed) return NULL;
  if (dgamma) memset(dgamma, 0, (size_t)d * sizeof(float));
  if (dbeta) memset(dbeta, 0, (size_t)d * sizeof(float));
  for (int64_t i = 0; i < rows; i++) {
    const float *dyr = dy + i * d, *xr = x + i * d;
    float mu = mean[i], rs = rstd[i];
    if (dgamma)
      for (int64_t j = 0; j < d; j++) dgamma[j] += dyr[j] * (xr[j] - mu) * rs;
    if (dbeta)
      for (int64_t j = 0; j < d; j++) dbeta[j] += dyr[j];
    if (!dx) continue;
    float *dxr = dx + i * d;
    float sg = 0.0f, sgx = 0.0f;
    for (int64_t j = 0; j < d; j++) {
      float xh = (xr[j] - mu) * rs;
      float g = dyr[j] * gamma[j];
      sg += g;
      sgx += g * xh;
    }
    float mg = sg / (float)d, mgx = sgx / (float)d;
    for (int64_t j = 0; j < d; j++) {
      float xh = (xr[j] - mu) * rs;
      dxr[j] = rs * (dyr[j] * gamma[j] - mg - xh * mgx);
    }
  }
  return undefined_value(env);
}

/* ---- activations -------------------------------------------------------------------------------------- */

enum { ACT_QUICK_GELU = 0, ACT_GELU_NEW = 1, ACT_RELU = 2 };

static const float GELU_C = 0.7978845608028654f; /* sqrt(2/pi) */

static inline float sigmoid_f(float z) { return 1.0f / (1.0f + exp_approx(-z)); }
static inline float tanh_f(float u) {
  /* tanh(u) = 1 - 2 / (e^{2u} + 1); exact limits at large |u| */
  return 1.0f - 2.0f / (exp_approx(2.0f * u) + 1.0f);
}

/* activationForward(kind, x, y, n) */
static napi_value js_activation_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "activationForward", 4)) return NULL;
  int64_t kind = arg_int(&a, 0, "kind"), n = arg_int(&a, 3, "n");
  const float *restrict x = arg_f32(&a, 1, "x", n);
  float *restrict y = arg_f32(&a, 2, "y", n);
  if (a.failed) return NULL;
  switch (kind) {
    case ACT_QUICK_GELU:
      for (int64_t i = 0; i < n; i++) y[i] = x[i] * sigmoid_f(1.702f * x[i]);
      break;
    case ACT_GELU_NEW:
      for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanh_f(GELU_C * (v + 0.044715f * v * v * v)));
      }
      break;
    case ACT_RELU:
      for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f);
      break;
    default:
      fail(&a, "unknown activation kind (expected 0 quick_gelu, 1 gelu_new, 2 relu)");
      return NULL;
  }
  return undefined_value(env);
}

/* activationBackward(kind, x, dy, dx, n): dx = dy * act'(x) */
static napi_value js_activation_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "activationBackward", 5)) return NULL;
  int64_t kind = arg_int(&a, 0, "kind"), n = arg_int(&a, 4, "n");
  const float *restrict x = arg_f32(&a, 1, "x", n);
  const float *restrict dy = arg_f32(&a, 2, "dy", n);
  float *restrict dx = arg_f32(&a, 3, "dx", n);
  if (a.failed) return NULL;
  switch (kind) {
    case ACT_QUICK_GELU:
      for (int64_t i = 0; i < n; i++) {
        float s = sigmoid_f(1.702f * x[i]);
        dx[i] = dy[i] * (s + 1.702f * x[i] * s * (1.0f - s));
      }
      break;
    case ACT_GELU_NEW:
      for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float t = tanh_f(GELU_C * (v + 0.044715f * v * v * v));
        float du = GELU_C * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
      }
      break;
    case ACT_RELU:
      for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
      break;
    default:
      fail(&a, "unknown activation kind (expected 0 quick_gelu, 1 gelu_new, 2 relu)");
      return NULL;
  }
  return undefined_value(env);
}

/* ---- causal masked attention ------------------------------------------------------------------------ */

/*
 * Per (batch, head) pair, with T the length and dh the head width, everything fits in L1/L2: the products are
 * written as row-times-matrix loops over a transposed copy (vectorised over the long axis) instead of BLAS calls,
 * whose per-call cost dominates at these sizes, and the pairs run in parallel (OpenMP) when it is available.
 */

static const float MASKED = -1e9f;

/* dst[k * T + j] = src[j * ld + k] for j < T, k < dh (a head's [T, dh] slice, transposed). */
static void transpose_head(float *restrict dst, const float *restrict src, int64_t T, int64_t dh, int64_t ld) {
  for (int64_t j = 0; j < T; j++)
    for (int64_t k = 0; k < dh; k++) dst[k * T + j] = src[j * ld + k];
}

/* out[j] = alpha * sum_k a[k] * mt[k * T + j], j < T: a row [dh] times a transposed matrix [dh, T]. */
static void row_times(float *restrict out, const float *restrict a, const float *restrict mt, int64_t T, int64_t dh, float alpha) {
  for (int64_t j = 0; j < T; j++) out[j] = 0.0f;
  for (int64_t k = 0; k < dh; k++) {
    const float ak = alpha * a[k];
    const float *restrict m = mt + k * T;
    for (int64_t j = 0; j < T; j++) out[j] += ak * m[j];
  }
}

/* y[k] += alpha * x[k], k < n */
static void axpy(float *restrict y, const float *restrict x, int64_t n, float alpha) {
  for (int64_t k = 0; k < n; k++) y[k] += alpha * x[k];
}

static void attention_forward_head(const float *q, const float *km, float *out, float *p, int64_t T, int64_t dh,
                                   int64_t D, float scale, float *kt) {
  const int64_t ld3 = 3 * D;
  const float *k = q + D, *v = q + 2 * D;
  transpose_head(kt, k, T, dh, ld3);
  for (int64_t i = 0; i < T; i++) {
    float *row = p + i * T;
    row_times(row, q + i * ld3, kt, T, dh, scale);
    int bad = row_nonfinite(row, T);
    row_mask(row, km, T, i, MASKED);
    float sum = exp_shift_sum(row, T, row_max(row, T));
    row_scale(row, T, bad ? NAN : 1.0f / sum);
    float *o = out + i * D;
    for (int64_t c = 0; c < dh; c++) o[c] = 0.0f;
    for (int64_t j = 0; j < T; j++)
      if (row[j] != 0.0f) axpy(o, v + j * ld3, dh, row[j]);
  }
}

static void attention_backward_head(const float *q, const float *p, const float *dO, float *dq, int64_t T, int64_t dh,
                                    int64_t D, float scale, float *scratch) {
  const int64_t ld3 = 3 * D;
  const float *k = q + D, *v = q + 2 * D;
  float *dk = dq + D, *dv = dq + 2 * D;
  float *vt = scratch;          /* [dh, T] */
  float *ds = vt + dh * T;      /* [T] */
  transpose_head(vt, v, T, dh, ld3);
  for (int64_t j = 0; j < T; j++)
    for (int64_t c = 0; c < dh; c++) dk[j * ld3 + c] = dv[j * ld3 + c] = 0.0f;
  for (int64_t i = 0; i < T; i++) {
    const float *pr = p + i * T;
    const float *doi = dO + i * D;
    /* dP_i = dO_i V^T; dS_i = P_i * (dP_i - <dP_i, P_i>) */
    row_times(ds, doi, vt, T, dh, 1.0f);
    float dot = row_dot(ds, pr, T);
    for (int64_t j = 0; j < T; j++) ds[j] = pr[j] * (ds[j] - dot);
    float *dqi = dq + i * ld3;
    for (int64_t c = 0; c < dh; c++) dqi[c] = 0.0f;
    for (int64_t j = 0; j < T; j++) {
      if (pr[j] == 0.0f) continue; /* masked key: P = 0, so dV, dS and both their products vanish */
      axpy(dv + j * ld3, doi, dh, pr[j]);         /* dV_j += P_ij dO_i */
      axpy(dqi, k + j * ld3, dh, scale * ds[j]);  /* dQ_i += scale dS_ij K_j */
      axpy(dk + j * ld3, q + i * ld3, dh, scale * ds[j]); /* dK_j += scale dS_ij Q_i */
    }
  }
}

/*
 * attentionForward(qkv, keyMask, out, probs, batch, length, heads, headDim, scale)
 *   qkv [B*T, 3D] (q | k | v, heads side by side in each), keyMask [B*T] (nonzero = real key),
 *   out [B*T, D] (heads merged back side by side), probs [B, H, T, T] (saved for the backward pass).
 * Query i attends key j iff j <= i and keyMask[j]; masked scores get -1e9 added before the softmax (as the tfjs
 * path's additive bias does, so a query with no allowed key attends uniformly, exactly as there).
 */
static napi_value js_attention_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "attentionForward", 9)) return NULL;
  int64_t B = arg_int(&a, 4, "batch"), T = arg_int(&a, 5, "length"), H = arg_int(&a, 6, "heads");
  int64_t dh = arg_int(&a, 7, "headDim");
  float scale = (float)arg_double(&a, 8, "scale");
  int64_t D = H * dh;
  float *qkv = arg_f32(&a, 0, "qkv", B * T * 3 * D);
  float *mask = arg_f32(&a, 1, "keyMask", B * T);
  float *out = arg_f32(&a, 2, "out", B * T * D);
  float *probs = arg_f32(&a, 3, "probs", B * H * T * T);
  if (a.failed) return NULL;
  const int64_t pairs = B * H, per = dh * T;
  float *scratch = (float *)malloc((size_t)(pairs * per > 0 ? pairs * per : 1) * sizeof(float));
  if (!scratch) {
    fail(&a, "out of memory for attention scratch");
    return NULL;
  }
#pragma omp parallel for schedule(static)
  for (int64_t z = 0; z < pairs; z++) {
    int64_t b = z / H, h = z % H;
    attention_forward_head(qkv + b * T * 3 * D + h * dh, mask + b * T, out + b * T * D + h * dh, probs + z * T * T, T,
                           dh, D, scale, scratch + z * per);
  }
  free(scratch);
  return undefined_value(env);
}

/* attentionBackward(qkv, probs, dout, dqkv, batch, length, heads, headDim, scale): dqkv [B*T, 3D]. */
static napi_value js_attention_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "attentionBackward", 9)) return NULL;
  int64_t B = arg_int(&a, 4, "batch"), T = arg_int(&a, 5, "length"), H = arg_int(&a, 6, "heads");
  int64_t dh = arg_int(&a, 7, "headDim");
  float scale = (float)arg_double(&a, 8, "scale");
  int64_t D = H * dh;
  float *qkv = arg_f32(&a, 0, "qkv", B * T * 3 * D);
  float *probs = arg_f32(&a, 1, "probs", B * H * T * T);
  float *dout = arg_f32(&a, 2, "dout", B * T * D);
  float *dqkv = arg_f32(&a, 3, "dqkv", B * T * 3 * D);
  if (a.failed) return NULL;
  const int64_t pairs = B * H, per = dh * T + T;
  float *scratch = (float *)malloc((size_t)(pairs * per > 0 ? pairs * per : 1) * sizeof(float));
  if (!scratch) {
    fail(&a, "out of memory for attention scratch");
    return NULL;
  }
#pragma omp parallel for schedule(static)
  for (int64_t z = 0; z < pairs; z++) {
    int64_t b = z / H, h = z % H;
    attention_backward_head(qkv + b * T * 3 * D + h * dh, probs + z * T * T, dout + b * T * D + h * dh,
                            dqkv + b * T * 3 * D + h * dh, T, dh, D, scale, scratch + z * per);
  }
  free(scratch);
  return undefined_value(env);
}

/* ---- softmax cross-entropy ---------------------------------------------------------------------------- */

/*
 * softmaxCrossEntropy(logits, targets, weights, grad, rows, vocab) -> loss
 *   loss = sum_i w_i * -log(max(softmax(logits_i)[t_i], 1e-30)); grad_i = (softmax(logits_i) - onehot(t_i)) * w_i.
 *   Rows with w_i = 0 are skipped (their gradient row is zero). A non-finite logit in a counted row makes the
 *   loss and that row's gradient NaN.
 */
static napi_value js_softmax_cross_entropy(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "softmaxCrossEntropy", 6)) return NULL;
  int64_t rows = arg_int(&a, 4, "rows"), V = arg_int(&a, 5, "vocab");
  float *logits = arg_f32(&a, 0, "logits", rows * V);
  int32_t *targets = (int32_t *)arg_array(&a, 1, "targets", napi_int32_array, rows, 0);
  float *w = arg_f32(&a, 2, "weights", rows);
  float *grad = arg_f32(&a, 3, "grad", rows * V);
  if (a.failed) return NULL;
  for (int64_t i = 0; i < rows; i++) {
    if (targets[i] < 0 || targets[i] >= V) {
      char msg[160];
      snprintf(msg, sizeof msg, "target %d at row %lld is outside vocabulary %lld", targets[i], (long long)i,
               (long long)V);
      fail(&a, msg);
      return NULL;
    }
  }
  double loss = 0.0;
  const double max_nll = -log(1e-30);
  for (int64_t i = 0; i < rows; i++) {
    float *g = grad + i * V;
    if (w[i] == 0.0f) {
      memset(g, 0, (size_t)V * sizeof(float));
      continue;
    }
    const float *z = logits + i * V;
    int bad = row_nonfinite(z, V);
    float mx = row_max(z, V);
    memcpy(g, z, (size_t)V * sizeof(float));
    float sum = exp_shift_sum(g, V, mx);
    row_scale(g, V, w[i] / sum);
    int64_t t = targets[i];
    double lp = (double)(z[t] - mx) - log((double)sum);
    double nll = -lp < max_nll ? -lp : max_nll;
    g[t] -= w[i];
    if (bad) {
      nll = NAN;
      for (int64_t j = 0; j < V; j++) g[j] = NAN;
    }
    loss += (double)w[i] * nll;
  }
  napi_value out;
  CHECK_NAPI(env, napi_create_double(env, loss, &out));
  return out;
}

/* ---- embedding rows ------------------------------------------------------------------------------------ */

static int check_ids(Args *a, const int32_t *ids, int64_t n, int64_t table_rows) {
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= table_rows) {
      char msg[200];
      snprintf(msg, sizeof msg, "id %d at position %lld is outside the table's %lld rows", ids[i], (long long)i,
               (long long)table_rows);
      fail(a, msg);
      return 0;
    }
  }
  return 1;
}

/* gatherRows(table, ids, out, n, dim, tableRows): out[i] = table[ids[i]] (rows of dim floats). */
static napi_value js_gather_rows(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "gatherRows", 6)) return NULL;
  int64_t n = arg_int(&a, 3, "n"), dim = arg_int(&a, 4, "dim"), rows = arg_int(&a, 5, "tableRows");
  const float *table = arg_f32(&a, 0, "table", rows * dim);
  const int32_t *ids = (const int32_t *)arg_array(&a, 1, "ids", napi_int32_array, n, 0);
  float *out = arg_f32(&a, 2, "out", n * dim);
  if (a.failed || !check_ids(&a, ids, n, rows)) return NULL;
  for (int64_t i = 0; i < n; i++) memcpy(out + i * dim, table + (int64_t)ids[i] * dim, (size_t)dim * sizeof(float));
  return undefined_value(env);
}

/* scatterAddRows(dy, ids, out, n, dim, tableRows): out = 0; out[ids[i]] += dy[i] (the gradient of gatherRows). */
static napi_value js_scatter_add_rows(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "scatterAddRows", 6)) return NULL;
  int64_t n = arg_int(&a, 3, "n"), dim = arg_int(&a, 4, "dim"), rows = arg_int(&a, 5, "tableRows");
  const float *dy = arg_f32(&a, 0, "dy", n * dim);
  const int32_t *ids = (const int32_t *)arg_array(&a, 1, "ids", napi_int32_array, n, 0);
  float *out = arg_f32(&a, 2, "out", rows * dim);
  if (a.failed || !check_ids(&a, ids, n, rows)) return NULL;
  memset(out, 0, (size_t)(rows * dim) * sizeof(float));
  for (int64_t i = 0; i < n; i++) {
    float *restrict dst = out + (int64_t)ids[i] * dim;
    const float *restrict src = dy + i * dim;
    for (int64_t j = 0; j < dim; j++) dst[j] += src[j];
  }
  return undefined_value(env);
}

/* ---- optimizer ------------------------------------------------------------------------------------------ */

/* sumSquares(x, n) -> sum of x[i]^2 in double (the global gradient norm). */
static napi_value js_sum_squares(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "sumSquares", 2)) return NULL;
  int64_t n = arg_int(&a, 1, "n");
  const float *restrict x = arg_f32(&a, 0, "x", n);
  if (a.failed) return NULL;
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
  napi_value out;
  CHECK_NAPI(env, napi_create_double(env, s, &out));
  return out;
}

/*
 * adamwStep(p, g, m, v, pOut, mOut, vOut, n, lr, beta1, beta2, eps, decay, c1, c2, scale): one AdamW update into
 * new buffers (tensors stay immutable: tfjs-wasm caches packed matmul weights by buffer), as lib/train/adamw.ts
 * computes it with tfjs ops:
 *   g' = g * scale; m = beta1 m + (1 - beta1) g'; v = beta2 v + (1 - beta2) g'^2;
 *   p -= lr (m / c1) / (sqrt(v / c2) + eps) + lr decay p.
 */
static napi_value js_adamw_step(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "adamwStep", 16)) return NULL;
  int64_t n = arg_int(&a, 7, "n");
  float lr = (float)arg_double(&a, 8, "lr"), b1 = (float)arg_double(&a, 9, "beta1"), b2 = (float)arg_double(&a, 10, "beta2");
  float eps = (float)arg_double(&a, 11, "eps"), decay = (float)arg_double(&a, 12, "decay");
  float c1 = (float)arg_double(&a, 13, "c1"), c2 = (float)arg_double(&a, 14, "c2"), scale = (float)arg_double(&a, 15, "scale");
  const float *restrict p = arg_f32(&a, 0, "p", n);
  const float *restrict g = arg_f32(&a, 1, "g", n);
  const float *restrict m = arg_f32(&a, 2, "m", n);
  const float *restrict v = arg_f32(&a, 3, "v", n);
  float *restrict po = arg_f32(&a, 4, "pOut", n);
  float *restrict mo = arg_f32(&a, 5, "mOut", n);
  float *restrict vo = arg_f32(&a, 6, "vOut", n);
  if (a.failed) return NULL;
  const float step = lr / c1, wd = lr * decay;
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i] * scale;
    float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    mo[i] = mi;
    vo[i] = vi;
    po[i] = p[i] - (step * mi / (sqrtf(vi / c2) + eps) + wd * p[i]);
  }
  return undefined_value(env);
}

/* ---- module ------------------------------------------------------------------------------------------- */

static napi_value module_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", NULL, js_init, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, js_set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"getThreads", NULL, js_get_threads, NULL, NULL, NULL, napi_default, NULL},
      {"gemm", NULL, js_gemm, NULL, NULL, NULL, napi_default, NULL},
      {"linearForward", NULL, js_linear_forward, NULL, NULL, NULL, napi_default, NULL},
      {"colSum", NULL, js_col_sum, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormForward", NULL, js_layer_norm_forward, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormBackward", NULL, js_layer_norm_backward, NULL, NULL, NULL, napi_default, NULL},
      {"activationForward", NULL, js_activation_forward, NULL, NULL, NULL, napi_default, NULL},
      {"activationBackward", NULL, js_activation_backward, NULL, NULL, NULL, napi_default, NULL},
      {"attentionForward", NULL, js_attention_forward, NULL, NULL, NULL, napi_default, NULL},
      {"attentionBackward", NULL, js_attention_backward, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxCrossEntropy", NULL, js_softmax_cross_entropy, NULL, NULL, NULL, napi_default, NULL},
      {"gatherRows", NULL, js_gather_rows, NULL, NULL, NULL, napi_default, NULL},
      {"sumSquares", NULL, js_sum_squares, NULL, NULL, NULL, napi_default, NULL},
      {"adamwStep", NULL, js_adamw_step, NULL, NULL, NULL, napi_default, NULL},
      {"scatterAddRows", NULL, js_scatter_add_rows, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, module_init)

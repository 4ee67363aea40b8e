/*
 * dampl_blas: a Node-API addon that runs single-precision matrix products through a CBLAS
 * library (OpenBLAS, BLIS, MKL, reference BLAS) loaded at run time with dlopen, so that it builds
 * with nothing but a C compiler and Node's headers and needs no BLAS development package.
 *
 *   load(path)                       dlopen a BLAS library that exports cblas_sgemm
 *   info()                           { library, config, threads }
 *   setThreads(n)                    openblas_set_num_threads where the library has it
 *   sgemm(a, b, c, batch, m, n, k, transA, transB, strideA, strideB)
 *       for i < batch: C_i[m,n] = op(A_i) op(B_i), row-major, with A_i = a[i*strideA ...] and
 *       B_i = b[i*strideB ...] (a stride of 0 broadcasts one matrix over the batch), C_i = c[i*m*n ...];
 *       op(A) is A[m,k] or, with transA, A stored as [k,m] and transposed (likewise B: [k,n] or [n,k]).
 *
 * Many small products (attention scores) are split over threads, one library call per matrix;
 * large ones are left to the library's own threads.
 *
 * Fused row-wise kernels of the transformer block, split over the same number of threads
 * (x, y, dy, ...: Float32Arrays; rows x cols row-major):
 *   layerNorm(x, w, b, y, rows, cols, eps)                y = (x - mean) / sqrt(var + eps) * w + b
 *   layerNormGrad(x, dy, w, base, dx, rows, cols, eps)    dx = base + d/dx given dy (base may be null)
 *   quickGelu(x, y, n)                                    y = x * sigmoid(1.702 x)
 *   quickGeluGrad(x, dy, dx, n)                           dx = dy * (s + 1.702 x s (1 - s))
 *   softmax(x, y, rows, cols, causal)                     row softmax; causal: row r sees columns <= r % cols
 *   softmaxGrad(a, da, dx, rows, cols)                    dx = a * (da - sum(da * a))
 *   dense(x, w, b, y, m, n, k)                            y[m,n] = x[m,k] w[k,n] + b[n] (b may be null):
 *                                                         y is filled with b, then one sgemm with beta 1
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_config_fn)(void);

static void *lib;
static sgemm_fn sgemm;
static set_threads_fn set_threads;
static get_threads_fn get_threads;
static get_config_fn get_config;
static char lib_path[1024];

#define MAX_WORKERS 64
/* products below this many multiply-adds are run one per thread rather than threaded inside */
#define SMALL_GEMM (256 * 256 * 64)

#define CHECK(call)                                                           \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      napi_throw_error(env, NULL, "dampl_blas: Node-API call failed: " #call); \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

static napi_value throw_msg(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value load(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[1024];
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) {
    return throw_msg(env, "dampl_blas.load(path): path must be a string");
  }
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    return throw_msg(env, e ? e : "dlopen failed");
  }
  sgemm_fn f = (sgemm_fn)dlsym(h, "cblas_sgemm");
  if (!f) {
    dlclose(h);
    char msg[1200];
    snprintf(msg, sizeof msg, "%s does not export cblas_sgemm", path);
    return throw_msg(env, msg);
  }
  if (lib) dlclose(lib);
  lib = h;
  sgemm = f;
  set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
  get_threads = (get_threads_fn)dlsym(h, "openblas_get_num_threads");
  get_config = (get_config_fn)dlsym(h, "openblas_get_config");
  snprintf(lib_path, sizeof lib_path, "%s", path);
  return NULL;
}

static napi_value info_fn(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, v;
  CHECK(napi_create_object(env, &out));
  if (!sgemm) return out;
  CHECK(napi_create_string_utf8(env, lib_path, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "library", v));
  CHECK(napi_create_string_utf8(env, get_config ? get_config() : "", NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "config", v));
  CHECK(napi_create_int32(env, get_threads ? get_threads() : 1, &v));
  CHECK(napi_set_named_property(env, out, "threads", v));
  return out;
}

static napi_value set_threads_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) return throw_msg(env, "setThreads(n): n must be a positive integer");
  if (set_threads) set_threads(n);
  return NULL;
}

static int float_array(napi_env env, napi_value v, float **data, size_t *length) {
  napi_typedarray_type type;
  void *ptr;
  if (napi_get_typedarray_info(env, v, &type, length, &ptr, NULL, NULL) != napi_ok || type != napi_float32_array) return 0;
  *data = (float *)ptr;
  return 1;
}

typedef struct {
  const float *a, *b;
  float *c;
  int64_t from, to;
  int m, n, k, ta, tb;
  int64_t sa, sb;
} job_t;

static void run_range(const job_t *j) {
  const int lda = j->ta ? j->m : j->k, ldb = j->tb ? j->k : j->n;
  for (int64_t i = j->from; i < j->to; i++) {
    sgemm(CBLAS_ROW_MAJOR, j->ta ? CBLAS_TRANS : CBLAS_NO_TRANS, j->tb ? CBLAS_TRANS : CBLAS_NO_TRANS, j->m, j->n, j->k, 1.0f,
          j->a + i * j->sa, lda, j->b + i * j->sb, ldb, 0.0f, j->c + i * (int64_t)j->m * j->n, j->n);
  }
}

static void *run_thread(void *p) {
  run_range((const job_t *)p);
  return NULL;
}

static napi_value sgemm_js(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!sgemm) return throw_msg(env, "dampl_blas: no BLAS library loaded (call load(path) first)");
  if (argc < 11) return throw_msg(env, "sgemm(a, b, c, batch, m, n, k, transA, transB, strideA, strideB) takes 11 arguments");
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!float_array(env, argv[0], &a, &la) || !float_array(env, argv[1], &b, &lb) || !float_array(env, argv[2], &c, &lc)) {
    return throw_msg(env, "sgemm: a, b and c must be Float32Arrays");
  }
  int64_t dims[4], strides[2];
  bool ta, tb;
  for (int i = 0; i < 4; i++) {
    if (napi_get_value_int64(env, argv[3 + i], &dims[i]) != napi_ok || dims[i] < 0 || dims[i] > INT32_MAX) return throw_msg(env, "sgemm: batch, m, n, k must be non-negative integers");
  }
  if (napi_get_value_bool(env, argv[7], &ta) != napi_ok || napi_get_value_bool(env, argv[8], &tb) != napi_ok) return throw_msg(env, "sgemm: transA, transB must be booleans");
  for (int i = 0; i < 2; i++) {
    if (napi_get_value_int64(env, argv[9 + i], &strides[i]) != napi_ok || strides[i] < 0) return throw_msg(env, "sgemm: strides must be non-negative integers");
  }
  const int64_t batch = dims[0], m = dims[1], n = dims[2], k = dims[3];
  if (batch == 0 || m == 0 || n == 0) return NULL;
  if ((uint64_t)((batch - 1) * strides[0] + m * k) > la || (uint64_t)((batch - 1) * strides[1] + k * n) > lb || (uint64_t)(batch * m * n) > lc) {
    return throw_msg(env, "sgemm: an array is shorter than its shape and stride need");
  }
  if (k == 0) {
    memset(c, 0, (size_t)(batch * m * n) * sizeof(float));
    return NULL;
  }
  job_t base = {a, b, c, 0, batch, (int)m, (int)n, (int)k, ta, tb, strides[0], strides[1]};
  int workers = get_threads ? get_threads() : 1;
  if (workers > MAX_WORKERS) workers = MAX_WORKERS;
  if (workers > batch) workers = (int)batch;
  if (workers <= 1 || m * n * k >= SMALL_GEMM) {
    run_range(&base);
    return NULL;
  }
  /* one library call per matrix, the batch split over threads; the library stays single-threaded per call */
  pthread_t tid[MAX_WORKERS];
  int created[MAX_WORKERS] = {0};
  job_t jobs[MAX_WORKERS];
  if (set_threads) set_threads(1);
  for (int w = 0; w < workers; w++) {
    jobs[w] = base;
    jobs[w].from = batch * w / workers;
    jobs[w].to = batch * (w + 1) / workers;
    if (w > 0) created[w] = pthread_create(&tid[w], NULL, run_thread, &jobs[w]) == 0;
  }
  run_range(&jobs[0]);
  for (int w = 1; w < workers; w++) {
    if (created[w]) pthread_join(tid[w], NULL);
    else run_range(&jobs[w]);
  }
  if (set_threads) set_threads(workers);
  return NULL;
}


/* ---- fused row-wise kernels ---- */

typedef struct {
  const float *x, *w, *b, *dy, *base;
  float *y;
  int64_t cols;
  float eps;
  int causal;
} rows_t;

typedef void (*rows_fn)(const rows_t *, int64_t, int64_t);

typedef struct {
  rows_fn fn;
  const rows_t *args;
  int64_t from, to;
} rows_job_t;

static void *rows_thread(void *p) {
  const rows_job_t *j = (const rows_job_t *)p;
  j->fn(j->args, j->from, j->to);
  return NULL;
}

/* runs fn over [0, rows) split over the library's thread count (one thread for small work) */
static void parallel_rows(rows_fn fn, const rows_t *args, int64_t rows, int64_t work) {
  int workers = get_threads ? get_threads() : 1;
  if (workers > MAX_WORKERS) workers = MAX_WORKERS;
  if (workers > rows) workers = (int)rows;
  if (workers <= 1 || work < 65536) {
    fn(args, 0, rows);
    return;
  }
  pthread_t tid[MAX_WORKERS];
  int created[MAX_WORKERS] = {0};
  rows_job_t jobs[MAX_WORKERS];
  for (int w = 0; w < workers; w++) {
    jobs[w].fn = fn;
    jobs[w].args = args;
    jobs[w].from = rows * w / workers;
    jobs[w].to = rows * (w + 1) / workers;
    if (w > 0) created[w] = pthread_create(&tid[w], NULL, rows_thread, &jobs[w]) == 0;
  }
  fn(args, jobs[0].from, jobs[0].to);
  for (int w = 1; w < workers; w++) {
    if (created[w]) pthread_join(tid[w], NULL);
    else fn(args, jobs[w].from, jobs[w].to);
  }
}

static void row_stats(const float *x, int64_t n, float eps, float *mean, float *rstd) {
  double s = 0, ss = 0;
  for (int64_t i = 0; i < n; i++) s += x[i];
  const double m = s / n;
  for (int64_t i = 0; i < n; i++) {
    const double d = x[i] - m;
    ss += d * d;
  }
  *mean = (float)m;
  *rstd = (float)(1.0 / sqrt(ss / n + eps));
}

static void ln_rows(const rows_t *a, int64_t r0, int64_t r1) {
  const int64_t n = a->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = a->x + r * n;
    float *y = a->y + r * n;
    float m, rs;
    row_stats(x, n, a->eps, &m, &rs);
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * rs * a->w[i] + a->b[i];
  }
}

static void ln_grad_rows(const rows_t *a, int64_t r0, int64_t r1) {
  const int64_t n = a->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = a->x + r * n, *dy = a->dy + r * n;
    float *dx = a->y + r * n;
    float m, rs;
    row_stats(x, n, a->eps, &m, &rs);
    double sg = 0, sgx = 0;
    for (int64_t i = 0; i < n; i++) {
      const float g = dy[i] * a->w[i];
      sg += g;
      sgx += g * ((x[i] - m) * rs);
    }
    const float mg = (float)(sg / n), mgx = (float)(sgx / n);
    for (int64_t i = 0; i < n; i++) {
      const float xhat = (x[i] - m) * rs;
      const float v = rs * (dy[i] * a->w[i] - mg - xhat * mgx);
      dx[i] = a->base ? a->base[r * n + i] + v : v;
    }
  }
}

static void gelu_rows(const rows_t *a, int64_t r0, int64_t r1) {
  for (int64_t i = r0; i < r1; i++) {
    const float x = a->x[i];
    a->y[i] = x / (1.0f + expf(-1.702f * x));
  }
}

static void gelu_grad_rows(const rows_t *a, int64_t r0, int64_t r1) {
  for (int64_t i = r0; i < r1; i++) {
    const float x = a->x[i];
    const float s = 1.0f / (1.0f + expf(-1.702f * x));
    a->y[i] = a->dy[i] * (s + 1.702f * x * s * (1.0f - s));
  }
}

static void softmax_rows(const rows_t *a, int64_t r0, int64_t r1) {
  const int64_t n = a->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = a->x + r * n;
    float *y = a->y + r * n;
    const int64_t seen = a->causal ? (r % n) + 1 : n;
    float mx = -INFINITY;
    for (int64_t i = 0; i < seen; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int64_t i = 0; i < seen; i++) {
      y[i] = expf(x[i] - mx);
      sum += y[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < seen; i++) y[i] *= inv;
    for (int64_t i = seen; i < n; i++) y[i] = 0.0f;
  }
}

static void softmax_grad_rows(const rows_t *a, int64_t r0, int64_t r1) {
  const int64_t n = a->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *p = a->x + r * n, *dp = a->dy + r * n;
    float *dx = a->y + r * n;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += dp[i] * p[i];
    const float sf = (float)s;
    for (int64_t i = 0; i < n; i++) dx[i] = p[i] * (dp[i] - sf);
  }
}

/* argument helpers: a Float32Array of at least `need` values, or null where allowed */
static int get_floats(napi_env env, napi_value v, int64_t need, int nullable, const float **out) {
  napi_valuetype t;
  if (nullable && napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) {
    *out = NULL;
    return 1;
  }
  float *d;
  size_t len;
  if (!float_array(env, v, &d, &len) || (int64_t)len < need) return 0;
  *out = d;
  return 1;
}

static int get_int(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok && *out >= 0;
}

#define ARGS(n)                                                   \
  size_t argc = n;                                                \
  napi_value argv[n];                                             \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));    \
  if (argc < n) return throw_msg(env, "dampl_blas: too few arguments")

#define FLOATS(i, need, nullable, dst) \
  if (!get_floats(env, argv[i], need, nullable, &dst)) return throw_msg(env, "dampl_blas: argument " #i " must be a Float32Array of at least " #need " values")

static napi_value layer_norm_js(napi_env env, napi_callback_info info) {
  ARGS(7);
  int64_t rows, cols;
  double eps;
  if (!get_int(env, argv[4], &rows) || !get_int(env, argv[5], &cols) || napi_get_value_double(env, argv[6], &eps) != napi_ok) return throw_msg(env, "layerNorm: bad sizes");
  rows_t a = {0};
  const float *y;
  FLOATS(0, rows * cols, 0, a.x);
  FLOATS(1, cols, 0, a.w);
  FLOATS(2, cols, 0, a.b);
  FLOATS(3, rows * cols, 0, y);
  a.y = (float *)y;
  a.cols = cols;
  a.eps = (float)eps;
  parallel_rows(ln_rows, &a, rows, rows * cols);
  return NULL;
}

static napi_value layer_norm_grad_js(napi_env env, napi_callback_info info) {
  ARGS(8);
  int64_t rows, cols;
  double eps;
  if (!get_int(env, argv[5], &rows) || !get_int(env, argv[6], &cols) || napi_get_value_double(env, argv[7], &eps) != napi_ok) return throw_msg(env, "layerNormGrad: bad sizes");
  rows_t a = {0};
  const float *y;
  FLOATS(0, rows * cols, 0, a.x);
  FLOATS(1, rows * cols, 0, a.dy);
  FLOATS(2, cols, 0, a.w);
  FLOATS(3, rows * cols, 1, a.base);
  FLOATS(4, rows * cols, 0, y);
  a.y = (float *)y;
  a.cols = cols;
  a.eps = (float)eps;
  parallel_rows(ln_grad_rows, &a, rows, rows * cols);
  return NULL;
}

static napi_value gelu_js(napi_env env, napi_callback_info info) {
  ARGS(3);
  int64_t n;
  if (!get_int(env, argv[2], &n)) return throw_msg(env, "quickGelu: bad size");
  rows_t a = {0};
  const float *y;
  FLOATS(0, n, 0, a.x);
  FLOATS(1, n, 0, y);
  a.y = (float *)y;
  parallel_rows(gelu_rows, &a, n, n);
  return NULL;
}

static napi_value gelu_grad_js(napi_env env, napi_callback_info info) {
  ARGS(4);
  int64_t n;
  if (!get_int(env, argv[3], &n)) return throw_msg(env, "quickGeluGrad: bad size");
  rows_t a = {0};
  const float *y;
  FLOATS(0, n, 0, a.x);
  FLOATS(1, n, 0, a.dy);
  FLOATS(2, n, 0, y);
  a.y = (float *)y;
  parallel_rows(gelu_grad_rows, &a, n, n);
  return NULL;
}

static napi_value softmax_js(napi_env env, napi_callback_info info) {
  ARGS(5);
  int64_t rows, cols;
  bool causal;
  if (!get_int(env, argv[2], &rows) || !get_int(env, argv[3], &cols) || napi_get_value_bool(env, argv[4], &causal) != napi_ok) return throw_msg(env, "softmax: bad sizes");
  rows_t a = {0};
  const float *y;
  FLOATS(0, rows * cols, 0, a.x);
  FLOATS(1, rows * cols, 0, y);
  a.y = (float *)y;
  a.cols = cols;
  a.causal = causal;
  parallel_rows(softmax_rows, &a, rows, rows * cols);
  return NULL;
}

static napi_value softmax_grad_js(napi_env env, napi_callback_info info) {
  ARGS(5);
  int64_t rows, cols;
  if (!get_int(env, argv[3], &rows) || !get_int(env, argv[4], &cols)) return throw_msg(env, "softmaxGrad: bad sizes");
  rows_t a = {0};
  const float *y;
  FLOATS(0, rows * cols, 0, a.x);
  FLOATS(1, rows * cols, 0, a.dy);
  FLOATS(2, rows * cols, 0, y);
  a.y = (float *)y;
  a.cols = cols;
  parallel_rows(softmax_grad_rows, &a, rows, rows * cols);
  return NULL;
}

static void fill_rows(const rows_t *a, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) memcpy(a->y + r * a->cols, a->b, (size_t)a->cols * sizeof(float));
}

static napi_value dense_js(napi_env env, napi_callback_info info) {
  ARGS(7);
  int64_t m, n, k;
  if (!sgemm) return throw_msg(env, "dampl_blas: no BLAS library loaded (call load(path) first)");
  if (!get_int(env, argv[4], &m) || !get_int(env, argv[5], &n) || !get_int(env, argv[6], &k) || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return throw_msg(env, "dense: bad sizes");
  const float *x, *w, *b, *y;
  FLOATS(0, m * k, 0, x);
  FLOATS(1, k * n, 0, w);
  FLOATS(2, n, 1, b);
  FLOATS(3, m * n, 0, y);
  if (m == 0 || n == 0) return NULL;
  if (b) {
    rows_t a = {0};
    a.b = b;
    a.y = (float *)y;
    a.cols = n;
    parallel_rows(fill_rows, &a, m, m * n);
  }
  if (k == 0) {
    if (!b) memset((float *)y, 0, (size_t)(m * n) * sizeof(float));
    return NULL;
  }
  sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)m, (int)n, (int)k, 1.0f, x, (int)k, w, (int)n, b ? 1.0f : 0.0f, (float *)y, (int)n);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"load", NULL, load, NULL, NULL, NULL, napi_default, NULL},
    {"info", NULL, info_fn, NULL, NULL, NULL, napi_default, NULL},
    {"setThreads", NULL, set_threads_js, NULL, NULL, NULL, napi_default, NULL},
    {"sgemm", NULL, sgemm_js, NULL, NULL, NULL, napi_default, NULL},
    {"layerNorm", NULL, layer_norm_js, NULL, NULL, NULL, napi_default, NULL},
    {"layerNormGrad", NULL, layer_norm_grad_js, NULL, NULL, NULL, napi_default, NULL},
    {"quickGelu", NULL, gelu_js, NULL, NULL, NULL, napi_default, NULL},
    {"quickGeluGrad", NULL, gelu_grad_js, NULL, NULL, NULL, napi_default, NULL},
    {"softmax", NULL, softmax_js, NULL, NULL, NULL, napi_default, NULL},
    {"softmaxGrad", NULL, softmax_grad_js, NULL, NULL, NULL, napi_default, NULL},
    {"dense", NULL, dense_js, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

/*
 * dampl_blas: a Node-API addon that runs single-precision matrix products through a CBLAS
 * library (OpenBLAS, BLIS, MKL, reference BLAS) loaded at run time with dlopen, so that it builds
 * with nothing but a C compiler and Node's headers and needs no BLAS development package.
 *
 *   load(path)                       dlopen a BLAS library that exports cblas_sgemm
 *   info()                           { library, config, threads }
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
 *   dense(x, w, b, r, y, m, n, k)                         y[m,n] = r[m,n] + x[m,k] w[k,n] + b[n] (b, r may be
 *                                                         null): y is filled with r + b, then one sgemm, beta 1
 *   attention(qkv, o, groups, lp, branches, ls, branchMajor, heads, d, causal, scale)
 *       multi-head self-attention over rows that form groups of a shared prefix (lp rows) and
 *       branches (ls rows each) that attend to it (see attn_t; plain batches of n sequences of l
 *       rows: n, 0, 1, l): qkv [rows, 3W] holds q | k | v per row (W = heads*d, head h in columns
 *       h*d .. h*d+d of each); o [rows, W] = softmax(scale q k^T (+ causal mask)) v per sequence and
 *       head, read and written in place through leading dimensions (no per-head copies); the
 *       weights live in scratch only
 *   patches(x, y, n, c, r, p)                             x [n, c, r, r] -> y [n * (r/p)^2, c*p*p]: the p x p
 *                                                         patches row by row, values in (c, kh, kw) order
 *   attentionGrad(qkv, do, dqkv, groups, lp, branches, ls, branchMajor, heads, d, causal, scale)
 *       dqkv [rows, 3W] = d/dq | d/dk | d/dv given do [rows, W]; the weights are recomputed from q, k
 *
 * e^x in the row kernels is exp_poly below (vectorised by the compiler), not libm's expf.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
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
} rows_t;

/* fn(args, from, to) over a range of rows (or matrices) */
typedef void (*range_fn)(const void *, int64_t, int64_t);

typedef struct {
  range_fn fn;
  const void *args;
  int64_t from, to;
} range_job_t;

static void *range_thread(void *p) {
  const range_job_t *j = (const range_job_t *)p;
  j->fn(j->args, j->from, j->to);
  return NULL;
}

/* runs fn over [0, count) split over `workers` threads (one thread for small work) */
static void parallel_for_n(int workers, range_fn fn, const void *args, int64_t count, int64_t work) {
  if (workers > MAX_WORKERS) workers = MAX_WORKERS;
  if (workers > count) workers = (int)count;
  if (workers <= 1 || work < 65536) {
    fn(args, 0, count);
    return;
  }
  pthread_t tid[MAX_WORKERS];
  int created[MAX_WORKERS] = {0};
  range_job_t jobs[MAX_WORKERS];
  for (int w = 0; w < workers; w++) {
    jobs[w].fn = fn;
    jobs[w].args = args;
    jobs[w].from = count * w / workers;
    jobs[w].to = count * (w + 1) / workers;
    if (w > 0) created[w] = pthread_create(&tid[w], NULL, range_thread, &jobs[w]) == 0;
  }
  fn(args, jobs[0].from, jobs[0].to);
  for (int w = 1; w < workers; w++) {
    if (created[w]) pthread_join(tid[w], NULL);
    else fn(args, jobs[w].from, jobs[w].to);
  }
}

/* parallel_for_n over the library's thread count */
static void parallel_for(range_fn fn, const void *args, int64_t count, int64_t work) {
  parallel_for_n(get_threads ? get_threads() : 1, fn, args, count, work);
}

/*
 * e^x with Cephes' single-precision reduction (x = n ln2 + r, |r| <= ln2 / 2, ln2 in two parts)
 * and its degree-6 polynomial, branch-free so that loops over it vectorise; within 2 ulp of expf
 * on [-87.3, 88] and clamped outside (e^-87.3 ~ 1e-38 stands for the subnormal tail).
 */
static inline float exp_poly(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.0f ? 88.0f : x;
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union { int32_t i; float f; } two_n;
  two_n.i = ((int32_t)n + 127) << 23;
  return p * two_n.f;
}

/* sum of x[0..n) with 16 float partial sums (vectorised), totalled in double */
static double sum16(const float *x, int64_t n) {
  float acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) acc[j] += x[i + j];
  double s = 0;
  for (int j = 0; j < 16; j++) s += acc[j];
  for (; i < n; i++) s += x[i];
  return s;
}

static void row_stats(const float *x, int64_t n, float eps, float *mean, float *rstd) {
  const float m = (float)(sum16(x, n) / n);
  float acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) {
      const float d = x[i + j] - m;
      acc[j] += d * d;
    }
  double ss = 0;
  for (int j = 0; j < 16; j++) ss += acc[j];
  for (; i < n; i++) ss += (double)(x[i] - m) * (x[i] - m);
  *mean = m;
  *rstd = (float)(1.0 / sqrt(ss / n + eps));
}

static void ln_rows(const void *p, int64_t r0, int64_t r1) {
  const rows_t *a = (const rows_t *)p;
  const int64_t n = a->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = a->x + r * n;
    float *y = a->y + r * n;
    float m, rs;
    row_stats(x, n, a->eps, &m, &rs);
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * rs * a->w[i] + a->b[i];
  }
}

static void ln_grad_rows(const void *p, int64_t r0, int64_t r1) {
  const rows_t *a = (const rows_t *)p;
  const int64_t n = a->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = a->x + r * n, *dy = a->dy + r * n;
    float *dx = a->y + r * n;
    float m, rs;
    row_stats(x, n, a->eps, &m, &rs);
    float ag[16] = {0}, agx[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; j++) {
        const float g = dy[i + j] * a->w[i + j];
        ag[j] += g;
        agx[j] += g * ((x[i + j] - m) * rs);
      }
    double sg = 0, sgx = 0;
    for (int j = 0; j < 16; j++) {
      sg += ag[j];
      sgx += agx[j];
    }
    for (; i < n; i++) {
      const float g = dy[i] * a->w[i];
      sg += g;
      sgx += g * ((x[i] - m) * rs);
    }
    const float mg = (float)(sg / n), mgx = (float)(sgx / n);
    const float *base = a->base ? a->base + r * n : NULL;
    for (int64_t i = 0; i < n; i++) {
      const float xhat = (x[i] - m) * rs;
      dx[i] = rs * (dy[i] * a->w[i] - mg - xhat * mgx);
    }
    if (base)
      for (int64_t i = 0; i < n; i++) dx[i] += base[i];
  }
}

static void gelu_rows(const void *p, int64_t r0, int64_t r1) {
  const rows_t *a = (const rows_t *)p;
  const float *x = a->x;
  float *y = a->y;
  for (int64_t i = r0; i < r1; i++) y[i] = x[i] / (1.0f + exp_poly(-1.702f * x[i]));
}

static void gelu_grad_rows(const void *p, int64_t r0, int64_t r1) {
  const rows_t *a = (const rows_t *)p;
  const float *x = a->x, *dy = a->dy;
  float *y = a->y;
  for (int64_t i = r0; i < r1; i++) {
    const float s = 1.0f / (1.0f + exp_poly(-1.702f * x[i]));
    y[i] = dy[i] * (s + 1.702f * x[i] * s * (1.0f - s));
  }
}

/* one row: y[0..seen) = softmax(x[0..seen)), y[seen..n) = 0 (in place allowed) */
static void softmax_row(const float *x, float *y, int64_t seen, int64_t n) {
  float m16[16];
  for (int j = 0; j < 16; j++) m16[j] = -INFINITY;
  int64_t i = 0;
  for (; i + 16 <= seen; i += 16)
    for (int j = 0; j < 16; j++) m16[j] = x[i + j] > m16[j] ? x[i + j] : m16[j];
  float mx = -INFINITY;
  for (int j = 0; j < 16; j++) mx = m16[j] > mx ? m16[j] : mx;
  for (; i < seen; i++) mx = x[i] > mx ? x[i] : mx;
  for (i = 0; i < seen; i++) y[i] = exp_poly(x[i] - mx);
  const float inv = (float)(1.0 / sum16(y, seen));
  for (i = 0; i < seen; i++) y[i] *= inv;
  for (i = seen; i < n; i++) y[i] = 0.0f;
}

/* one row: dx = a * (da - sum(da * a)) (in place into da allowed) */
static void softmax_grad_row(const float *a, const float *da, float *dx, int64_t n) {
  float acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) acc[j] += da[i + j] * a[i + j];
  double s = 0;
  for (int j = 0; j < 16; j++) s += acc[j];
  for (; i < n; i++) s += da[i] * a[i];
  const float sf = (float)s;
  for (i = 0; i < n; i++) dx[i] = a[i] * (da[i] - sf);
}

/* ---- multi-head attention on q | k | v rows ---- */

/*
 * The rows form G groups: each a shared prefix of lp rows (all prefixes first, group by group),
 * then B branches of ls rows that attend to their group's prefix and to themselves (branch j of
 * the branch rows is group g's branch b with j = b G + g when branch_major, else j = g B + b).
 * Ordinary batches of n sequences of l rows are G = n, lp = 0, B = 1, ls = l. One (group, head)
 * per step, so every write to a prefix row's gradient comes from one thread.
 */
typedef struct {
  const float *qkv, *dout;
  float *out;
  int64_t groups, lp, branches, ls, heads, d;
  int branch_major, causal;
  float scale;
  volatile int failed;
} attn_t;

static int64_t branch_row(const attn_t *a, int64_t g, int64_t b) {
  const int64_t j = a->branch_major ? b * a->groups + g : g * a->branches + b;
  return a->groups * a->lp + j * a->ls;
}

/* s [nq, np + nq] = softmax(scale q [kp; k]^T) for nq query rows over np shared rows then their own nq */
static void attn_weights(const attn_t *a, const float *q, const float *kp, int64_t np, int64_t nq, float *s) {
  const int64_t W = a->heads * a->d, ld = 3 * W, n = np + nq;
  const float *k = q + W;
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, (int)nq, (int)np, (int)a->d, a->scale, q, (int)ld, kp, (int)ld, 0.0f, s, (int)n);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, (int)nq, (int)nq, (int)a->d, a->scale, q, (int)ld, k, (int)ld, 0.0f, s + np, (int)n);
  for (int64_t r = 0; r < nq; r++) softmax_row(s + r * n, s + r * n, a->causal ? np + r + 1 : n, n);
}

/* o [nq, d] (row stride W) = s [vp; v] */
static void attn_forward_one(const attn_t *a, const float *q, const float *kp, const float *vp, int64_t np, int64_t nq, float *o, float *s) {
  const int64_t W = a->heads * a->d, ld = 3 * W, n = np + nq;
  attn_weights(a, q, kp, np, nq, s);
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)nq, (int)a->d, (int)np, 1.0f, s, (int)n, vp, (int)ld, 0.0f, o, (int)W);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)nq, (int)a->d, (int)nq, 1.0f, s + np, (int)n, q + 2 * W, (int)ld, np ? 1.0f : 0.0f, o, (int)W);
}

/*
 * The backward pass of attn_forward_one given dO: writes dq, dk, dv of the nq own rows (dq points
 * at their dq | dk | dv row) and adds the shared rows' share into dkp, dvp. With A the weights:
 * dv = A^T dO; dS = A * (dO v^T - rowsum(A * dO v^T)); dq = scale dS k; dk = scale dS^T q.
 */
static void attn_backward_one(const attn_t *a, const float *q, const float *kp, const float *vp, int64_t np, int64_t nq,
                              const float *dO, float *dq, float *dkp, float *dvp, float *s, float *t) {
  const int64_t W = a->heads * a->d, ld = 3 * W, n = np + nq, d = a->d;
  attn_weights(a, q, kp, np, nq, s);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_TRANS, CBLAS_NO_TRANS, (int)nq, (int)d, (int)nq, 1.0f, s + np, (int)n, dO, (int)W, 0.0f, dq + 2 * W, (int)ld);
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_TRANS, CBLAS_NO_TRANS, (int)np, (int)d, (int)nq, 1.0f, s, (int)n, dO, (int)W, 1.0f, dvp, (int)ld);
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, (int)nq, (int)np, (int)d, 1.0f, dO, (int)W, vp, (int)ld, 0.0f, t, (int)n);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, (int)nq, (int)nq, (int)d, 1.0f, dO, (int)W, q + 2 * W, (int)ld, 0.0f, t + np, (int)n);
  for (int64_t r = 0; r < nq; r++) softmax_grad_row(s + r * n, t + r * n, t + r * n, n);
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)nq, (int)d, (int)np, a->scale, t, (int)n, kp, (int)ld, 0.0f, dq, (int)ld);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)nq, (int)d, (int)nq, a->scale, t + np, (int)n, q + W, (int)ld, np ? 1.0f : 0.0f, dq, (int)ld);
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_TRANS, CBLAS_NO_TRANS, (int)np, (int)d, (int)nq, a->scale, t, (int)n, q, (int)ld, 1.0f, dkp, (int)ld);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_TRANS, CBLAS_NO_TRANS, (int)nq, (int)d, (int)nq, a->scale, t + np, (int)n, q, (int)ld, 0.0f, dq + W, (int)ld);
}

/* scratch for one thread: two [max(lp, ls), lp + ls] matrices */
static float *attn_scratch(attn_t *a) {
  const int64_t rows = a->lp > a->ls ? a->lp : a->ls;
  float *s = malloc((size_t)(2 * rows * (a->lp + a->ls)) * sizeof(float));
  if (!s) a->failed = 1;
  return s;
}

static void attn_range(const void *p, int64_t i0, int64_t i1) {
  attn_t *a = (attn_t *)p;
  const int64_t H = a->heads, d = a->d, W = H * d, ld = 3 * W;
  float *s = attn_scratch(a);
  if (!s) return;
  for (int64_t i = i0; i < i1; i++) {
    const int64_t g = i / H, h = i % H;
    const float *qp = a->qkv + g * a->lp * ld + h * d;
    if (a->lp) attn_forward_one(a, qp, NULL, NULL, 0, a->lp, a->out + g * a->lp * W + h * d, s);
    for (int64_t b = 0; b < a->branches; b++) {
      const int64_t r = branch_row(a, g, b);
      attn_forward_one(a, a->qkv + r * ld + h * d, qp + W, qp + 2 * W, a->lp, a->ls, a->out + r * W + h * d, s);
    }
  }
  free(s);
}

static void attn_grad_range(const void *p, int64_t i0, int64_t i1) {
  attn_t *a = (attn_t *)p;
  const int64_t H = a->heads, d = a->d, W = H * d, ld = 3 * W;
  float *s = attn_scratch(a);
  if (!s) return;
  float *t = s + (a->lp > a->ls ? a->lp : a->ls) * (a->lp + a->ls);
  for (int64_t i = i0; i < i1; i++) {
    const int64_t g = i / H, h = i % H;
    const float *qp = a->qkv + g * a->lp * ld + h * d;
    float *dqp = a->out + g * a->lp * ld + h * d;
    /* the prefix's own attention first: it writes the prefix rows' dk, dv, which the branches add to */
    if (a->lp) attn_backward_one(a, qp, NULL, NULL, 0, a->lp, a->dout + g * a->lp * W + h * d, dqp, NULL, NULL, s, t);
    for (int64_t b = 0; b < a->branches; b++) {
      const int64_t r = branch_row(a, g, b);
      attn_backward_one(a, a->qkv + r * ld + h * d, qp + W, qp + 2 * W, a->lp, a->ls, a->dout + r * W + h * d,
                        a->out + r * ld + h * d, dqp + W, dqp + 2 * W, s, t);
    }
  }
  free(s);
}

/* runs an attention range function over groups * heads items, the library single-threaded per call */
static int run_attention(range_fn fn, attn_t *a) {
  const int64_t count = a->groups * a->heads;
  const int64_t n = a->lp + a->ls;
  const int threads = get_threads ? get_threads() : 1;
  if (set_threads && threads > 1) set_threads(1);
  parallel_for_n(threads, fn, a, count, count * (a->branches + 1) * n * n * a->d);
  if (set_threads && threads > 1) set_threads(threads);
  return !a->failed;
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
  parallel_for(ln_rows, &a, rows, rows * cols);
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
  parallel_for(ln_grad_rows, &a, rows, rows * cols);
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
  parallel_for(gelu_rows, &a, n, n);
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
  parallel_for(gelu_grad_rows, &a, n, n);
  return NULL;
}

/* y = r + b row by row (either may be null, not both) */
static void fill_rows(const void *p, int64_t r0, int64_t r1) {
  const rows_t *a = (const rows_t *)p;
  const int64_t n = a->cols;
  for (int64_t r = r0; r < r1; r++) {
    float *y = a->y + r * n;
    if (!a->base) memcpy(y, a->b, (size_t)n * sizeof(float));
    else if (!a->b) memcpy(y, a->base + r * n, (size_t)n * sizeof(float));
    else
      for (int64_t i = 0; i < n; i++) y[i] = a->base[r * n + i] + a->b[i];
  }
}

static napi_value dense_js(napi_env env, napi_callback_info info) {
  ARGS(8);
  int64_t m, n, k;
  if (!sgemm) return throw_msg(env, "dampl_blas: no BLAS library loaded (call load(path) first)");
  if (!get_int(env, argv[5], &m) || !get_int(env, argv[6], &n) || !get_int(env, argv[7], &k) || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return throw_msg(env, "dense: bad sizes");
  const float *x, *w, *b, *res, *y;
  FLOATS(0, m * k, 0, x);
  FLOATS(1, k * n, 0, w);
  FLOATS(2, n, 1, b);
  FLOATS(3, m * n, 1, res);
  FLOATS(4, m * n, 0, y);
  if (m == 0 || n == 0) return NULL;
  if (b || res) {
    rows_t a = {0};
    a.b = b;
    a.base = res;
    a.y = (float *)y;
    a.cols = n;
    parallel_for(fill_rows, &a, m, m * n);
  }
  if (k == 0) {
    if (!b && !res) memset((float *)y, 0, (size_t)(m * n) * sizeof(float));
    return NULL;
  }
  sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)m, (int)n, (int)k, 1.0f, x, (int)k, w, (int)n, b || res ? 1.0f : 0.0f, (float *)y, (int)n);
  return NULL;
}

/* reads groups, lp, branches, ls, branchMajor, heads, d, causal, scale from argv[at..at+9) */
static const char *attn_sizes(napi_env env, napi_value *argv, int at, attn_t *a) {
  bool branch_major, causal;
  double scale;
  if (!get_int(env, argv[at], &a->groups) || !get_int(env, argv[at + 1], &a->lp) || !get_int(env, argv[at + 2], &a->branches) ||
      !get_int(env, argv[at + 3], &a->ls) || napi_get_value_bool(env, argv[at + 4], &branch_major) != napi_ok ||
      !get_int(env, argv[at + 5], &a->heads) || !get_int(env, argv[at + 6], &a->d) ||
      napi_get_value_bool(env, argv[at + 7], &causal) != napi_ok || napi_get_value_double(env, argv[at + 8], &scale) != napi_ok) {
    return "attention: bad sizes";
  }
  if (a->ls < 1 || a->heads < 1 || a->d < 1 || a->lp + a->ls > 65536 || 3 * a->heads * a->d > INT32_MAX) return "attention: bad sizes";
  if (a->lp && !causal) return "attention: a shared prefix needs causal attention";
  a->branch_major = branch_major;
  a->causal = causal;
  a->scale = (float)scale;
  return NULL;
}

/* attention(qkv, o, ...sizes) and, with grad, attentionGrad(qkv, do, dqkv, ...sizes) */
static napi_value attention_call(napi_env env, napi_callback_info info, int grad) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < (size_t)(11 + grad)) return throw_msg(env, "dampl_blas: too few arguments");
  if (!sgemm) return throw_msg(env, "dampl_blas: no BLAS library loaded (call load(path) first)");
  attn_t a = {0};
  const char *bad = attn_sizes(env, argv, 2 + grad, &a);
  if (bad) return throw_msg(env, bad);
  const int64_t W = a.heads * a.d, rows = a.groups * (a.lp + a.branches * a.ls);
  const float *out;
  FLOATS(0, rows * 3 * W, 0, a.qkv);
  if (grad) FLOATS(1, rows * W, 0, a.dout);
  FLOATS(1 + grad, rows * (grad ? 3 : 1) * W, 0, out);
  a.out = (float *)out;
  if (rows == 0) return NULL;
  if (!run_attention(grad ? attn_grad_range : attn_range, &a)) return throw_msg(env, "attention: out of memory for the scratch weights");
  return NULL;
}

static napi_value attention_js(napi_env env, napi_callback_info info) {
  return attention_call(env, info, 0);
}

static napi_value attention_grad_js(napi_env env, napi_callback_info info) {
  return attention_call(env, info, 1);
}

typedef struct {
  const float *x;
  float *y;
  int64_t c, r, p;
} patches_t;

/* one patch row per (image, patch row) pair */
static void patches_range(const void *q, int64_t j0, int64_t j1) {
  const patches_t *a = (const patches_t *)q;
  const int64_t c = a->c, r = a->r, p = a->p, g = r / p, cols = c * p * p;
  for (int64_t j = j0; j < j1; j++) {
    const int64_t img = j / g, gy = j % g;
    for (int64_t gx = 0; gx < g; gx++) {
      float *row = a->y + ((img * g + gy) * g + gx) * cols;
      for (int64_t ch = 0; ch < c; ch++)
        for (int64_t ky = 0; ky < p; ky++)
          memcpy(row + (ch * p + ky) * p, a->x + ((img * c + ch) * r + gy * p + ky) * r + gx * p, (size_t)p * sizeof(float));
    }
  }
}

static napi_value patches_js(napi_env env, napi_callback_info info) {
  ARGS(6);
  patches_t a = {0};
  int64_t n;
  if (!get_int(env, argv[2], &n) || !get_int(env, argv[3], &a.c) || !get_int(env, argv[4], &a.r) || !get_int(env, argv[5], &a.p) || a.p < 1 || a.r % a.p) {
    return throw_msg(env, "patches: bad sizes (r must be a multiple of p)");
  }
  const float *y;
  FLOATS(0, n * a.c * a.r * a.r, 0, a.x);
  FLOATS(1, n * a.c * a.r * a.r, 0, y);
  a.y = (float *)y;
  parallel_for(patches_range, &a, n * (a.r / a.p), n * a.c * a.r * a.r);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"load", NULL, load, NULL, NULL, NULL, napi_default, NULL},
    {"info", NULL, info_fn, NULL, NULL, NULL, napi_default, NULL},
    {"sgemm", NULL, sgemm_js, NULL, NULL, NULL, napi_default, NULL},
    {"layerNorm", NULL, layer_norm_js, NULL, NULL, NULL, napi_default, NULL},
    {"layerNormGrad", NULL, layer_norm_grad_js, NULL, NULL, NULL, napi_default, NULL},
    {"quickGelu", NULL, gelu_js, NULL, NULL, NULL, napi_default, NULL},
    {"quickGeluGrad", NULL, gelu_grad_js, NULL, NULL, NULL, napi_default, NULL},
    {"dense", NULL, dense_js, NULL, NULL, NULL, napi_default, NULL},
    {"attention", NULL, attention_js, NULL, NULL, NULL, napi_default, NULL},
    {"attentionGrad", NULL, attention_grad_js, NULL, NULL, NULL, napi_default, NULL},
    {"patches", NULL, patches_js, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

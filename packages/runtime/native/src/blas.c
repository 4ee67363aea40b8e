/*
 * The CBLAS library (OpenBLAS, BLIS, MKL, reference BLAS), opened at run time with dlopen so that
 * the addon builds with nothing but a C compiler and Node's headers; batched products on it.
 *
 * Many small products (attention scores) are split over threads, one library call per matrix;
 * large ones are left to the library's own threads.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "dampl_native.h"

typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_config_fn)(void);
typedef char *(*get_corename_fn)(void);

sgemm_fn sgemm;
static void *lib;
static set_threads_fn set_threads;
static get_threads_fn get_threads;
static get_config_fn get_config;
static get_corename_fn get_corename;
static char lib_path[1024];

/* products below this many multiply-adds are run one per thread rather than threaded inside */
#define SMALL_GEMM (256 * 256 * 64)

const char *blas_load(const char *path, char *err, int errlen) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(err, (size_t)errlen, "%s", e ? e : "dlopen failed");
    return err;
  }
  sgemm_fn f = (sgemm_fn)dlsym(h, "cblas_sgemm");
  if (!f) {
    dlclose(h);
    snprintf(err, (size_t)errlen, "%s does not export cblas_sgemm", path);
    return err;
  }
  if (lib) dlclose(lib);
  lib = h;
  sgemm = f;
  set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
  get_threads = (get_threads_fn)dlsym(h, "openblas_get_num_threads");
  get_config = (get_config_fn)dlsym(h, "openblas_get_config");
  get_corename = (get_corename_fn)dlsym(h, "openblas_get_corename");
  snprintf(lib_path, sizeof lib_path, "%s", path);
  return NULL;
}

const char *blas_path(void) { return lib_path; }
const char *blas_config(void) { return get_config ? get_config() : ""; }
const char *blas_corename(void) { return get_corename ? get_corename() : ""; }
int blas_threads(void) { return get_threads ? get_threads() : 1; }
void blas_set_threads(int n) {
  if (set_threads) set_threads(n);
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

void gemm_batch(const float *a, const float *b, float *c, int64_t batch, int m, int n, int k, int ta, int tb, int64_t sa, int64_t sb) {
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    memset(c, 0, (size_t)(batch * m * n) * sizeof(float));
    return;
  }
  job_t base = {a, b, c, 0, batch, m, n, k, ta, tb, sa, sb};
  int workers = blas_threads();
  if (workers > MAX_WORKERS) workers = MAX_WORKERS;
  if (workers > batch) workers = (int)batch;
  if (workers <= 1 || (int64_t)m * n * k >= SMALL_GEMM) {
    run_range(&base);
    return;
  }
  /* one library call per matrix, the batch split over threads; the library stays single-threaded per call */
  pthread_t tid[MAX_WORKERS];
  int created[MAX_WORKERS] = {0};
  job_t jobs[MAX_WORKERS];
  blas_set_threads(1);
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
  blas_set_threads(workers);
}

typedef struct {
  const float *b, *r;
  float *y;
  int64_t n;
} fill_t;

/* y = r + b row by row (either may be NULL, not both) */
static void fill_rows(const void *p, int64_t r0, int64_t r1) {
  const fill_t *a = (const fill_t *)p;
  const int64_t n = a->n;
  for (int64_t r = r0; r < r1; r++) {
    float *y = a->y + r * n;
    if (!a->r) memcpy(y, a->b, (size_t)n * sizeof(float));
    else if (!a->b) memcpy(y, a->r + r * n, (size_t)n * sizeof(float));
    else
      for (int64_t i = 0; i < n; i++) y[i] = a->r[r * n + i] + a->b[i];
  }
}

/* y is filled with r + b, then one sgemm with beta 1 */
void dense(const float *x, const float *w, const float *b, const float *r, float *y, int64_t m, int64_t n, int64_t k) {
  if (m == 0 || n == 0) return;
  if (b || r) {
    fill_t a = {b, r, y, n};
    parallel_for(fill_rows, &a, m, m * n);
  }
  if (k == 0) {
    if (!b && !r) memset(y, 0, (size_t)(m * n) * sizeof(float));
    return;
  }
  sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)m, (int)n, (int)k, 1.0f, x, (int)k, w, (int)n, b || r ? 1.0f : 0.0f, y, (int)n);
}

/*
 * The plain kernel names over the code path chosen at load time: the best one this build holds
 * that the CPU runs (__builtin_cpu_supports), or the one DAMPL_KERNELS names. build.mjs compiles
 * the row kernels once per path and defines HAVE_<PATH> for each that compiled.
 */
#include <stdlib.h>
#include <string.h>
#include "dampl_native.h"

/* the kernels of one path, declared under their renamed names */
#define DECLARE_PATH(P)                                                                                              \
  void DAMPL_CAT(layer_norm, P)(const float *, const float *, const float *, float *, int64_t, int64_t, float);      \
  void DAMPL_CAT(layer_norm_grad, P)(const float *, const float *, const float *, const float *, float *, int64_t, \
                                     int64_t, float);                                                              \
  void DAMPL_CAT(quick_gelu, P)(const float *, float *, int64_t);                                                  \
  void DAMPL_CAT(quick_gelu_grad, P)(const float *, const float *, float *, int64_t);                              \
  void DAMPL_CAT(softmax_row, P)(const float *, float *, int64_t, int64_t);                                        \
  void DAMPL_CAT(softmax_grad_row, P)(const float *, const float *, float *, int64_t);                             \
  int64_t DAMPL_CAT(attention_rows, P)(const attn_shape_t *);                                                      \
  int DAMPL_CAT(attention, P)(const attn_shape_t *, const float *, float *);                                       \
  int DAMPL_CAT(attention_grad, P)(const attn_shape_t *, const float *, const float *, float *);                   \
  void DAMPL_CAT(patches, P)(const float *, float *, int64_t, int64_t, int64_t, int64_t);                          \
  double DAMPL_CAT(fma_peak, P)(double, int);

#define TABLE(P, NAME)                                                                                             \
  {NAME, DAMPL_CAT(layer_norm, P), DAMPL_CAT(layer_norm_grad, P), DAMPL_CAT(quick_gelu, P),                          \
   DAMPL_CAT(quick_gelu_grad, P), DAMPL_CAT(softmax_row, P), DAMPL_CAT(softmax_grad_row, P),                         \
   DAMPL_CAT(attention_rows, P), DAMPL_CAT(attention, P), DAMPL_CAT(attention_grad, P), DAMPL_CAT(patches, P),       \
   DAMPL_CAT(fma_peak, P)}

typedef struct {
  const char *name;
  void (*layer_norm)(const float *, const float *, const float *, float *, int64_t, int64_t, float);
  void (*layer_norm_grad)(const float *, const float *, const float *, const float *, float *, int64_t, int64_t, float);
  void (*quick_gelu)(const float *, float *, int64_t);
  void (*quick_gelu_grad)(const float *, const float *, float *, int64_t);
  void (*softmax_row)(const float *, float *, int64_t, int64_t);
  void (*softmax_grad_row)(const float *, const float *, float *, int64_t);
  int64_t (*attention_rows)(const attn_shape_t *);
  int (*attention)(const attn_shape_t *, const float *, float *);
  int (*attention_grad)(const attn_shape_t *, const float *, const float *, float *);
  void (*patches)(const float *, float *, int64_t, int64_t, int64_t, int64_t);
  double (*fma_peak)(double, int);
} path_t;

#ifdef HAVE_AVX512
DECLARE_PATH(avx512)
#endif
#ifdef HAVE_AVX2
DECLARE_PATH(avx2)
#endif
#ifdef HAVE_SSE2
DECLARE_PATH(sse2)
#endif
#ifdef HAVE_GENERIC
DECLARE_PATH(generic)
#endif

/* best first */
static const path_t PATHS[] = {
#ifdef HAVE_AVX512
  TABLE(avx512, "avx512"),
#endif
#ifdef HAVE_AVX2
  TABLE(avx2, "avx2"),
#endif
#ifdef HAVE_SSE2
  TABLE(sse2, "sse2"),
#endif
#ifdef HAVE_GENERIC
  TABLE(generic, "generic"),
#endif
};
#define NPATHS ((int)(sizeof PATHS / sizeof PATHS[0]))

static const path_t *current;
static char runnable[64];

static int cpu_runs(const char *name) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (!strcmp(name, "avx512"))
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
  if (!strcmp(name, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  (void)name;
  return 1;
}

static const path_t *find(const char *name) {
  for (int i = 0; i < NPATHS; i++)
    if (!strcmp(PATHS[i].name, name) && cpu_runs(name)) return &PATHS[i];
  return NULL;
}

static const path_t *path(void) {
  if (current) return current;
  const char *want = getenv("DAMPL_KERNELS");
  if (want && *want) current = find(want);
  for (int i = 0; !current && i < NPATHS; i++)
    if (cpu_runs(PATHS[i].name)) current = &PATHS[i];
  return current;
}

const char *kernel_path(void) { return path()->name; }

const char *kernel_paths(void) {
  if (!runnable[0]) {
    for (int i = 0; i < NPATHS; i++) {
      if (!cpu_runs(PATHS[i].name)) continue;
      if (runnable[0]) strcat(runnable, ",");
      strcat(runnable, PATHS[i].name);
    }
  }
  return runnable;
}

int set_kernel_path(const char *name) {
  const path_t *p = find(name);
  if (p) current = p;
  return p != NULL;
}

void layer_norm(const float *x, const float *w, const float *b, float *y, int64_t rows, int64_t cols, float eps) {
  path()->layer_norm(x, w, b, y, rows, cols, eps);
}
void layer_norm_grad(const float *x, const float *dy, const float *w, const float *base, float *dx, int64_t rows, int64_t cols, float eps) {
  path()->layer_norm_grad(x, dy, w, base, dx, rows, cols, eps);
}
void quick_gelu(const float *x, float *y, int64_t n) { path()->quick_gelu(x, y, n); }
void quick_gelu_grad(const float *x, const float *dy, float *dx, int64_t n) { path()->quick_gelu_grad(x, dy, dx, n); }
void softmax_row(const float *x, float *y, int64_t seen, int64_t n) { path()->softmax_row(x, y, seen, n); }
void softmax_grad_row(const float *a, const float *da, float *dx, int64_t n) { path()->softmax_grad_row(a, da, dx, n); }
int64_t attention_rows(const attn_shape_t *s) { return path()->attention_rows(s); }
int attention(const attn_shape_t *s, const float *qkv, float *o) { return path()->attention(s, qkv, o); }
int attention_grad(const attn_shape_t *s, const float *qkv, const float *dout, float *dqkv) { return path()->attention_grad(s, qkv, dout, dqkv); }
void patches(const float *x, float *y, int64_t n, int64_t c, int64_t r, int64_t p) { path()->patches(x, y, n, c, r, p); }
double fma_peak(double seconds, int threads) { return path()->fma_peak(seconds, threads); }

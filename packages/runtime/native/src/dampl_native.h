/*
 * The native kernels' shared declarations. The kernels (blas.c, layernorm.c, gelu.c, softmax.c,
 * attention.c, patches.c, conv.c, peak.c, on the thread helpers of parallel.c) are plain C over float
 * arrays; addon.c is the Node-API glue that checks the JavaScript arguments and calls them.
 *
 * Code paths: the row kernels (KERNEL_SOURCES in build.mjs) are compiled once per instruction set
 * (x86-64: avx512, avx2 with FMA, and the sse2 baseline; elsewhere one generic build), each
 * translation unit with DAMPL_PATH set, which renames its kernels to <name>_<path>. dispatch.c
 * defines the plain names over the path chosen at load time from the CPU's features (or
 * DAMPL_KERNELS), so one build runs at full width on any CPU of its architecture.
 */
#ifndef DAMPL_NATIVE_H
#define DAMPL_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#define DAMPL_CAT2(a, b) a##_##b
#define DAMPL_CAT(a, b) DAMPL_CAT2(a, b)
#ifdef DAMPL_PATH
#define layer_norm DAMPL_CAT(layer_norm, DAMPL_PATH)
#define layer_norm_grad DAMPL_CAT(layer_norm_grad, DAMPL_PATH)
#define quick_gelu DAMPL_CAT(quick_gelu, DAMPL_PATH)
#define quick_gelu_grad DAMPL_CAT(quick_gelu_grad, DAMPL_PATH)
#define softmax_row DAMPL_CAT(softmax_row, DAMPL_PATH)
#define softmax_grad_row DAMPL_CAT(softmax_grad_row, DAMPL_PATH)
#define attention_rows DAMPL_CAT(attention_rows, DAMPL_PATH)
#define attention DAMPL_CAT(attention, DAMPL_PATH)
#define attention_grad DAMPL_CAT(attention_grad, DAMPL_PATH)
#define patches DAMPL_CAT(patches, DAMPL_PATH)
#define fma_peak DAMPL_CAT(fma_peak, DAMPL_PATH)
#endif

/* ---- the CBLAS library, opened at run time (blas.c) ---- */

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);

/* cblas_sgemm of the library loaded by blas_load, NULL before */
extern sgemm_fn sgemm;

/* dlopen `path` and find cblas_sgemm (and OpenBLAS's thread calls); NULL, or why not in `err` */
const char *blas_load(const char *path, char *err, int errlen);
/* the library's path, its config string ('' when it has none), and its thread count (1 when it cannot say) */
const char *blas_path(void);
const char *blas_config(void);
/* the kernel family OpenBLAS runs ("Haswell", "SkylakeX", "Cooperlake", ...; '' elsewhere) */
const char *blas_corename(void);
int blas_threads(void);
/* sets the library's threads where it can (OpenBLAS) */
void blas_set_threads(int n);

/* for i < batch: C_i[m,n] = op(A_i) op(B_i), row-major (strides of 0 broadcast one matrix) */
void gemm_batch(const float *a, const float *b, float *c, int64_t batch, int m, int n, int k, int ta, int tb, int64_t sa, int64_t sb);
/* y[m,n] = r[m,n] + x[m,k] w[k,n] + b[n]; b and r may be NULL */
void dense(const float *x, const float *w, const float *b, const float *r, float *y, int64_t m, int64_t n, int64_t k);

/* ---- threads (parallel.c) ---- */

#define MAX_WORKERS 64
/* fn(args, from, to) over a range of rows (or matrices) */
typedef void (*range_fn)(const void *, int64_t, int64_t);
/* runs fn over [0, count) split over `workers` threads (one thread when `work` is small) */
void parallel_for_n(int workers, range_fn fn, const void *args, int64_t count, int64_t work);
/* parallel_for_n over the library's thread count */
void parallel_for(range_fn fn, const void *args, int64_t count, int64_t work);

/* ---- row kernels ---- */

/* y = (x - mean) / sqrt(var + eps) * w + b per row of `cols` (layernorm.c) */
void layer_norm(const float *x, const float *w, const float *b, float *y, int64_t rows, int64_t cols, float eps);
/* dx = base + d/dx given dy (base may be NULL) */
void layer_norm_grad(const float *x, const float *dy, const float *w, const float *base, float *dx, int64_t rows, int64_t cols, float eps);
/* y = x sigmoid(1.702 x), and dx = dy (s + 1.702 x s (1 - s)) (gelu.c) */
void quick_gelu(const float *x, float *y, int64_t n);
void quick_gelu_grad(const float *x, const float *dy, float *dx, int64_t n);
/* one row: y[0..seen) = softmax(x[0..seen)), y[seen..n) = 0; and dx = a (da - sum(da a)) (softmax.c; in place allowed) */
void softmax_row(const float *x, float *y, int64_t seen, int64_t n);
void softmax_grad_row(const float *a, const float *da, float *dx, int64_t n);

/* ---- multi-head attention on q | k | v rows (attention.c) ---- */

/*
 * The rows form G groups: each a shared prefix of lp rows (all prefixes first, group by group),
 * then B branches of ls rows that attend to their group's prefix and to themselves (branch j of
 * the branch rows is group g's branch b with j = b G + g when branch_major, else j = g B + b).
 * Ordinary batches of n sequences of l rows are G = n, lp = 0, B = 1, ls = l.
 */
typedef struct {
  int64_t groups, lp, branches, ls, heads, d;
  int branch_major, causal;
  float scale;
} attn_shape_t;

/* the rows an attention call reads: groups * (lp + branches * ls) */
int64_t attention_rows(const attn_shape_t *s);
/* o [rows, W] from qkv [rows, 3W]; 0 when out of memory */
int attention(const attn_shape_t *s, const float *qkv, float *o);
/* dqkv [rows, 3W] given dout [rows, W]; 0 when out of memory */
int attention_grad(const attn_shape_t *s, const float *qkv, const float *dout, float *dqkv);

/* ---- ViT patches (patches.c) ---- */

/* x [n, c, r, r] -> y [n (r/p)^2, c p p]: the p x p patches row by row, values in (c, kh, kw) order */
void patches(const float *x, float *y, int64_t n, int64_t c, int64_t r, int64_t p);

/* ---- NHWC convolution as matrix products (conv.c; one build, on dense) ---- */

/* y [n, oh, ow, oc] = r + b + x [n, h, wd, c] conv w [kh, kw, c, oc], zero padding, then max(0, y)
 * with relu (b, r may be NULL); 0 when out of memory */
int conv2d(const float *x, const float *w, const float *b, const float *r, float *y, int64_t n, int64_t h, int64_t wd, int64_t c, int64_t kh,
           int64_t kw, int64_t stride, int64_t pad, int64_t oc, int relu);

/* ---- the machine's fp32 peak (peak.c) ---- */

/*
 * FLOP/s of independent multiply-add chains in this path's widest vectors, on `threads` threads
 * at once, each running for about `seconds`: the fp32 peak the other kernels are measured against.
 */
double fma_peak(double seconds, int threads);

/* ---- code paths (dispatch.c) ---- */

/* the path the plain names run ("avx512", "avx2", "sse2" or "generic") */
const char *kernel_path(void);
/* the paths this build holds that this CPU can run, best first, separated by commas */
const char *kernel_paths(void);
/* switch to `name`; 0 when this build or CPU has no such path */
int set_kernel_path(const char *name);

#endif

/*
 * Multi-head self-attention on rows that hold q | k | v (qkv [rows, 3W], W = heads d, head h in
 * columns h d .. h d + d of each), with shared prefixes (attn_shape_t in dampl_native.h); the
 * outputs are written in place through leading dimensions. The weights live in scratch only and
 * are recomputed in the backward pass. One (group, head) per step, so every write to a prefix
 * row's gradient comes from one thread.
 *   o = softmax(scale q k^T (+ causal mask)) v per sequence and head
 * Where the head width is a whole number of the path's vectors (tile.h; CLIP's 64 on every path),
 * the products run on the register-tiled kernel over the head's q, k, v (and dO) copied into
 * per-thread scratch, k^T and v^T zero-padded to whole vectors of keys; otherwise on the library's
 * sgemm, reading the rows in place.
 */
#include <stdlib.h>
#include <string.h>
#include "dampl_native.h"
#include "tile.h"

typedef struct {
  attn_shape_t s;
  const float *qkv, *dout;
  float *out;
  volatile int failed;
} attn_t;

int64_t attention_rows(const attn_shape_t *s) {
  return s->groups * (s->lp + s->branches * s->ls);
}

static int64_t branch_row(const attn_t *a, int64_t g, int64_t b) {
  const attn_shape_t *s = &a->s;
  const int64_t j = s->branch_major ? b * s->groups + g : g * s->branches + b;
  return s->groups * s->lp + j * s->ls;
}

/* s [nq, np + nq] = softmax(scale q [kp; k]^T) for nq query rows over np shared rows then their own nq */
static void attn_weights(const attn_t *a, const float *q, const float *kp, int64_t np, int64_t nq, float *s) {
  const int64_t W = a->s.heads * a->s.d, ld = 3 * W, n = np + nq;
  const float *k = q + W;
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, (int)nq, (int)np, (int)a->s.d, a->s.scale, q, (int)ld, kp, (int)ld, 0.0f, s, (int)n);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, (int)nq, (int)nq, (int)a->s.d, a->s.scale, q, (int)ld, k, (int)ld, 0.0f, s + np, (int)n);
  for (int64_t r = 0; r < nq; r++) softmax_row(s + r * n, s + r * n, a->s.causal ? np + r + 1 : n, n);
}

/* o [nq, d] (row stride W) = s [vp; v] */
static void attn_forward_one(const attn_t *a, const float *q, const float *kp, const float *vp, int64_t np, int64_t nq, float *o, float *s) {
  const int64_t W = a->s.heads * a->s.d, ld = 3 * W, n = np + nq;
  attn_weights(a, q, kp, np, nq, s);
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)nq, (int)a->s.d, (int)np, 1.0f, s, (int)n, vp, (int)ld, 0.0f, o, (int)W);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)nq, (int)a->s.d, (int)nq, 1.0f, s + np, (int)n, q + 2 * W, (int)ld, np ? 1.0f : 0.0f, o, (int)W);
}

/*
 * The backward pass of attn_forward_one given dO: writes dq, dk, dv of the nq own rows (dq points
 * at their dq | dk | dv row) and adds the shared rows' share into dkp, dvp. With A the weights:
 * dv = A^T dO; dS = A * (dO v^T - rowsum(A * dO v^T)); dq = scale dS k; dk = scale dS^T q.
 */
static void attn_backward_one(const attn_t *a, const float *q, const float *kp, const float *vp, int64_t np, int64_t nq,
                              const float *dO, float *dq, float *dkp, float *dvp, float *s, float *t) {
  const int64_t W = a->s.heads * a->s.d, ld = 3 * W, n = np + nq, d = a->s.d;
  const float scale = a->s.scale;
  attn_weights(a, q, kp, np, nq, s);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_TRANS, CBLAS_NO_TRANS, (int)nq, (int)d, (int)nq, 1.0f, s + np, (int)n, dO, (int)W, 0.0f, dq + 2 * W, (int)ld);
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_TRANS, CBLAS_NO_TRANS, (int)np, (int)d, (int)nq, 1.0f, s, (int)n, dO, (int)W, 1.0f, dvp, (int)ld);
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, (int)nq, (int)np, (int)d, 1.0f, dO, (int)W, vp, (int)ld, 0.0f, t, (int)n);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, (int)nq, (int)nq, (int)d, 1.0f, dO, (int)W, q + 2 * W, (int)ld, 0.0f, t + np, (int)n);
  for (int64_t r = 0; r < nq; r++) softmax_grad_row(s + r * n, t + r * n, t + r * n, n);
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)nq, (int)d, (int)np, scale, t, (int)n, kp, (int)ld, 0.0f, dq, (int)ld);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)nq, (int)d, (int)nq, scale, t + np, (int)n, q + W, (int)ld, np ? 1.0f : 0.0f, dq, (int)ld);
  if (np) sgemm(CBLAS_ROW_MAJOR, CBLAS_TRANS, CBLAS_NO_TRANS, (int)np, (int)d, (int)nq, scale, t, (int)n, q, (int)ld, 1.0f, dkp, (int)ld);
  sgemm(CBLAS_ROW_MAJOR, CBLAS_TRANS, CBLAS_NO_TRANS, (int)nq, (int)d, (int)nq, scale, t + np, (int)n, q, (int)ld, 0.0f, dq + W, (int)ld);
}

/* ---- the tiled path (head width a multiple of TILE_VW) ---- */

static int tiled(const attn_t *a) { return a->s.d % TILE_VW == 0; }
static int64_t padded(int64_t n) { return (n + TILE_VW - 1) / TILE_VW * TILE_VW; }

/* rows [n, d] = the np shared rows (pre) then the nq own rows (own), each read with stride ld */
static void pack_rows(const float *pre, const float *own, int64_t np, int64_t nq, int64_t ld, int64_t d, float *rows) {
  for (int64_t r = 0; r < np + nq; r++) memcpy(rows + r * d, r < np ? pre + r * ld : own + (r - np) * ld, (size_t)d * sizeof(float));
}

/* cols [d, npad] = the same rows transposed, zero in the columns from np + nq on */
static void pack_cols(const float *pre, const float *own, int64_t np, int64_t nq, int64_t ld, int64_t d, int64_t npad, float *cols) {
  const int64_t n = np + nq;
  for (int64_t r = 0; r < n; r++) {
    const float *x = r < np ? pre + r * ld : own + (r - np) * ld;
    for (int64_t p = 0; p < d; p++) cols[p * npad + r] = x[p];
  }
  for (int64_t p = 0; p < d; p++)
    for (int64_t r = n; r < npad; r++) cols[p * npad + r] = 0.0f;
}

/* per-thread scratch of the tiled path: k^T, v^T [d, npad], k, v [n, d], q, dO [rows, d], s, t [rows, npad] */
typedef struct { float *kt, *vt, *kr, *vr, *qr, *dr, *s, *t; } tiles_t;

/* m->s [nq, npad] (first n columns) = softmax(scale q [kp; k]^T), q copied to m->qr */
static void tiled_weights(const attn_t *a, const float *q, const float *kp, int64_t np, int64_t nq, const tiles_t *m) {
  const int64_t W = a->s.heads * a->s.d, ld = 3 * W, d = a->s.d, n = np + nq, npad = padded(n);
  pack_rows(NULL, q, 0, nq, ld, d, m->qr);
  pack_cols(kp, q + W, np, nq, ld, d, npad, m->kt);
  tile_gemm(nq, npad, d, a->s.scale, m->qr, d, 1, m->kt, npad, 0, m->s, npad);
  for (int64_t r = 0; r < nq; r++) softmax_row(m->s + r * npad, m->s + r * npad, a->s.causal ? np + r + 1 : n, n);
}

static void tiled_forward_one(const attn_t *a, const float *q, const float *kp, const float *vp, int64_t np, int64_t nq, float *o,
                              const tiles_t *m) {
  const int64_t W = a->s.heads * a->s.d, ld = 3 * W, d = a->s.d, n = np + nq, npad = padded(n);
  tiled_weights(a, q, kp, np, nq, m);
  pack_rows(vp, q + 2 * W, np, nq, ld, d, m->vr);
  tile_gemm(nq, d, n, 1.0f, m->s, npad, 1, m->vr, d, 0, o, W);
}

/* attn_backward_one on the tiled kernel */
static void tiled_backward_one(const attn_t *a, const float *q, const float *kp, const float *vp, int64_t np, int64_t nq,
                               const float *dO, float *dq, float *dkp, float *dvp, const tiles_t *m) {
  const int64_t W = a->s.heads * a->s.d, ld = 3 * W, d = a->s.d, n = np + nq, npad = padded(n);
  const float scale = a->s.scale;
  float *s = m->s, *t = m->t;
  tiled_weights(a, q, kp, np, nq, m);
  pack_rows(NULL, dO, 0, nq, W, d, m->dr);
  tile_gemm(nq, d, nq, 1.0f, s + np, 1, npad, m->dr, d, 0, dq + 2 * W, ld);
  if (np) tile_gemm(np, d, nq, 1.0f, s, 1, npad, m->dr, d, 1, dvp, ld);
  pack_cols(vp, q + 2 * W, np, nq, ld, d, npad, m->vt);
  tile_gemm(nq, npad, d, 1.0f, m->dr, d, 1, m->vt, npad, 0, t, npad);
  for (int64_t r = 0; r < nq; r++) softmax_grad_row(s + r * npad, t + r * npad, t + r * npad, n);
  pack_rows(kp, q + W, np, nq, ld, d, m->kr);
  tile_gemm(nq, d, n, scale, t, npad, 1, m->kr, d, 0, dq, ld);
  if (np) tile_gemm(np, d, nq, scale, t, 1, npad, m->qr, d, 1, dkp, ld);
  tile_gemm(nq, d, nq, scale, t + np, 1, npad, m->qr, d, 0, dq + W, ld);
}

/*
 * Scratch for one thread: the sgemm path's two [max(lp, ls), lp + ls] matrices (m->s, m->t), or
 * the tiled path's copies and weights; NULL when out of memory (to free).
 */
static float *attn_scratch(attn_t *a, tiles_t *m) {
  const int64_t rows = a->s.lp > a->s.ls ? a->s.lp : a->s.ls, n = a->s.lp + a->s.ls, npad = padded(n), d = a->s.d;
  const int64_t size = tiled(a) ? 2 * d * npad + 2 * n * d + 2 * rows * d + 2 * rows * npad : 2 * rows * n;
  float *x = malloc((size_t)size * sizeof(float));
  if (!x) {
    a->failed = 1;
    return NULL;
  }
  if (tiled(a)) {
    m->kt = x;
    m->vt = m->kt + d * npad;
    m->kr = m->vt + d * npad;
    m->vr = m->kr + n * d;
    m->qr = m->vr + n * d;
    m->dr = m->qr + rows * d;
    m->s = m->dr + rows * d;
    m->t = m->s + rows * npad;
  } else {
    *m = (tiles_t){NULL, NULL, NULL, NULL, NULL, NULL, x, x + rows * n};
  }
  return x;
}

static void forward_one(const attn_t *a, const float *q, const float *kp, const float *vp, int64_t np, int64_t nq, float *o,
                        const tiles_t *m) {
  if (tiled(a)) tiled_forward_one(a, q, kp, vp, np, nq, o, m);
  else attn_forward_one(a, q, kp, vp, np, nq, o, m->s);
}

static void backward_one(const attn_t *a, const float *q, const float *kp, const float *vp, int64_t np, int64_t nq,
                         const float *dO, float *dq, float *dkp, float *dvp, const tiles_t *m) {
  if (tiled(a)) tiled_backward_one(a, q, kp, vp, np, nq, dO, dq, dkp, dvp, m);
  else attn_backward_one(a, q, kp, vp, np, nq, dO, dq, dkp, dvp, m->s, m->t);
}

static void attn_range(const void *p, int64_t i0, int64_t i1) {
  attn_t *a = (attn_t *)p;
  const int64_t H = a->s.heads, d = a->s.d, W = H * d, ld = 3 * W, lp = a->s.lp;
  tiles_t m;
  float *x = attn_scratch(a, &m);
  if (!x) return;
  for (int64_t i = i0; i < i1; i++) {
    const int64_t g = i / H, h = i % H;
    const float *qp = a->qkv + g * lp * ld + h * d;
    if (lp) forward_one(a, qp, NULL, NULL, 0, lp, a->out + g * lp * W + h * d, &m);
    for (int64_t b = 0; b < a->s.branches; b++) {
      const int64_t r = branch_row(a, g, b);
      forward_one(a, a->qkv + r * ld + h * d, qp + W, qp + 2 * W, lp, a->s.ls, a->out + r * W + h * d, &m);
    }
  }
  free(x);
}

static void attn_grad_range(const void *p, int64_t i0, int64_t i1) {
  attn_t *a = (attn_t *)p;
  const int64_t H = a->s.heads, d = a->s.d, W = H * d, ld = 3 * W, lp = a->s.lp, ls = a->s.ls;
  tiles_t m;
  float *x = attn_scratch(a, &m);
  if (!x) return;
  for (int64_t i = i0; i < i1; i++) {
    const int64_t g = i / H, h = i % H;
    const float *qp = a->qkv + g * lp * ld + h * d;
    float *dqp = a->out + g * lp * ld + h * d;
    /* the prefix's own attention first: it writes the prefix rows' dk, dv, which the branches add to */
    if (lp) backward_one(a, qp, NULL, NULL, 0, lp, a->dout + g * lp * W + h * d, dqp, NULL, NULL, &m);
    for (int64_t b = 0; b < a->s.branches; b++) {
      const int64_t r = branch_row(a, g, b);
      backward_one(a, a->qkv + r * ld + h * d, qp + W, qp + 2 * W, lp, ls, a->dout + r * W + h * d, a->out + r * ld + h * d,
                   dqp + W, dqp + 2 * W, &m);
    }
  }
  free(x);
}

/* runs an attention range function over groups * heads items, the library single-threaded per call */
static int run_attention(range_fn fn, attn_t *a) {
  const int64_t count = a->s.groups * a->s.heads;
  const int64_t n = a->s.lp + a->s.ls;
  const int threads = blas_threads();
  if (threads > 1) blas_set_threads(1);
  parallel_for_n(threads, fn, a, count, count * (a->s.branches + 1) * n * n * a->s.d);
  if (threads > 1) blas_set_threads(threads);
  return !a->failed;
}

int attention(const attn_shape_t *s, const float *qkv, float *o) {
  attn_t a = {*s, qkv, NULL, o, 0};
  return run_attention(attn_range, &a);
}

int attention_grad(const attn_shape_t *s, const float *qkv, const float *dout, float *dqkv) {
  attn_t a = {*s, qkv, dout, dqkv, 0};
  return run_attention(attn_grad_range, &a);
}

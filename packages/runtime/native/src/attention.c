/*
 * Multi-head self-attention on rows that hold q | k | v (qkv [rows, 3W], W = heads d, head h in
 * columns h d .. h d + d of each), with shared prefixes (attn_shape_t in dampl_native.h), read and
 * written in place through leading dimensions: no per-head copies. The weights live in scratch
 * only and are recomputed in the backward pass. One (group, head) per step, so every write to a
 * prefix row's gradient comes from one thread.
 *   o = softmax(scale q k^T (+ causal mask)) v per sequence and head
 */
#include <stdlib.h>
#include "dampl_native.h"

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

/* scratch for one thread: two [max(lp, ls), lp + ls] matrices */
static float *attn_scratch(attn_t *a) {
  const int64_t rows = a->s.lp > a->s.ls ? a->s.lp : a->s.ls;
  float *s = malloc((size_t)(2 * rows * (a->s.lp + a->s.ls)) * sizeof(float));
  if (!s) a->failed = 1;
  return s;
}

static void attn_range(const void *p, int64_t i0, int64_t i1) {
  attn_t *a = (attn_t *)p;
  const int64_t H = a->s.heads, d = a->s.d, W = H * d, ld = 3 * W, lp = a->s.lp;
  float *s = attn_scratch(a);
  if (!s) return;
  for (int64_t i = i0; i < i1; i++) {
    const int64_t g = i / H, h = i % H;
    const float *qp = a->qkv + g * lp * ld + h * d;
    if (lp) attn_forward_one(a, qp, NULL, NULL, 0, lp, a->out + g * lp * W + h * d, s);
    for (int64_t b = 0; b < a->s.branches; b++) {
      const int64_t r = branch_row(a, g, b);
      attn_forward_one(a, a->qkv + r * ld + h * d, qp + W, qp + 2 * W, lp, a->s.ls, a->out + r * W + h * d, s);
    }
  }
  free(s);
}

static void attn_grad_range(const void *p, int64_t i0, int64_t i1) {
  attn_t *a = (attn_t *)p;
  const int64_t H = a->s.heads, d = a->s.d, W = H * d, ld = 3 * W, lp = a->s.lp, ls = a->s.ls;
  float *s = attn_scratch(a);
  if (!s) return;
  float *t = s + (lp > ls ? lp : ls) * (lp + ls);
  for (int64_t i = i0; i < i1; i++) {
    const int64_t g = i / H, h = i % H;
    const float *qp = a->qkv + g * lp * ld + h * d;
    float *dqp = a->out + g * lp * ld + h * d;
    /* the prefix's own attention first: it writes the prefix rows' dk, dv, which the branches add to */
    if (lp) attn_backward_one(a, qp, NULL, NULL, 0, lp, a->dout + g * lp * W + h * d, dqp, NULL, NULL, s, t);
    for (int64_t b = 0; b < a->s.branches; b++) {
      const int64_t r = branch_row(a, g, b);
      attn_backward_one(a, a->qkv + r * ld + h * d, qp + W, qp + 2 * W, lp, ls, a->dout + r * W + h * d,
                        a->out + r * ld + h * d, dqp + W, dqp + 2 * W, s, t);
    }
  }
  free(s);
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

/*
 * LayerNorm over rows and its gradient, split over threads by rows; sums in 16 float lanes,
 * totalled in double.
 *   y  = (x - mean) / sqrt(var + eps) * w + b
 *   dx = base + rstd (dy w - mean(dy w) - xhat mean(dy w xhat)),  xhat = (x - mean) rstd
 */
#include <math.h>
#include "dampl_native.h"
#include "vecmath.h"

typedef struct {
  const float *x, *w, *b, *dy, *base;
  float *y;
  int64_t cols;
  float eps;
} ln_t;

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
  const ln_t *a = (const ln_t *)p;
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
  const ln_t *a = (const ln_t *)p;
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

void layer_norm(const float *x, const float *w, const float *b, float *y, int64_t rows, int64_t cols, float eps) {
  ln_t a = {x, w, b, NULL, NULL, y, cols, eps};
  parallel_for(ln_rows, &a, rows, rows * cols);
}

void layer_norm_grad(const float *x, const float *dy, const float *w, const float *base, float *dx, int64_t rows, int64_t cols, float eps) {
  ln_t a = {x, w, NULL, dy, base, dx, cols, eps};
  parallel_for(ln_grad_rows, &a, rows, rows * cols);
}

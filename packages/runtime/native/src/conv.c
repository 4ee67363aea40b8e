/*
 * 2-d convolution of NHWC images as matrix products (the ResNet image towers, inference):
 *   y [n, oh, ow, oc] = r + b + conv(x [n, h, w, c], w [kh, kw, c, oc]), zero padding `pad`, `stride`
 * (r, a residual of y's shape, and b may be NULL)
 * A 1 x 1 convolution with stride 1 is one product of the pixels [n h w, c] with w [c, oc].
 * Otherwise the output pixels go in chunks: their receptive fields are gathered into rows of
 * kh kw c values in (ky, kx, channel) order, the order of w's rows, and multiplied by w; a
 * chunk's rows are at most CHUNK_FLOATS floats in all, so the scratch stays small. With `relu`,
 * max(0, y) follows on each chunk while it is in cache (NaN stays NaN).
 */
#include <stdlib.h>
#include <string.h>
#include "dampl_native.h"

#define CHUNK_FLOATS (4 << 20)

typedef struct {
  const float *x;
  float *cols;
  int64_t h, w, c, kh, kw, stride, pad, oh, ow, first;
} gather_t;

/* rows [i0, i1) of the chunk: output pixel first + i */
static void gather_rows(const void *p, int64_t i0, int64_t i1) {
  const gather_t *g = (const gather_t *)p;
  const int64_t k = g->kh * g->kw * g->c;
  for (int64_t i = i0; i < i1; i++) {
    const int64_t q = g->first + i, img = q / (g->oh * g->ow), oy = q / g->ow % g->oh, ox = q % g->ow;
    float *row = g->cols + i * k;
    for (int64_t ky = 0; ky < g->kh; ky++) {
      const int64_t iy = oy * g->stride - g->pad + ky;
      for (int64_t kx = 0; kx < g->kw; kx++) {
        const int64_t ix = ox * g->stride - g->pad + kx;
        float *dst = row + (ky * g->kw + kx) * g->c;
        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) memset(dst, 0, (size_t)g->c * sizeof(float));
        else memcpy(dst, g->x + ((img * g->h + iy) * g->w + ix) * g->c, (size_t)g->c * sizeof(float));
      }
    }
  }
}

typedef struct {
  float *y;
  int64_t cols;
} relu_t;

static void relu_rows(const void *p, int64_t r0, int64_t r1) {
  const relu_t *a = (const relu_t *)p;
  float *y = a->y + r0 * a->cols;
  const int64_t n = (r1 - r0) * a->cols;
  for (int64_t i = 0; i < n; i++) y[i] = y[i] < 0.0f ? 0.0f : y[i];
}

static void relu(float *y, int64_t rows, int64_t cols) {
  relu_t a = {y, cols};
  parallel_for(relu_rows, &a, rows, rows * cols);
}

int conv2d(const float *x, const float *w, const float *b, const float *r, float *y, int64_t n, int64_t h, int64_t wd, int64_t c, int64_t kh,
           int64_t kw, int64_t stride, int64_t pad, int64_t oc, int with_relu) {
  const int64_t oh = (h + 2 * pad - kh) / stride + 1, ow = (wd + 2 * pad - kw) / stride + 1, rows = n * oh * ow, k = kh * kw * c;
  if (rows <= 0 || oc <= 0) return 1;
  if (kh == 1 && kw == 1 && stride == 1 && pad == 0) {
    dense(x, w, b, r, y, rows, oc, c);
    if (with_relu) relu(y, rows, oc);
    return 1;
  }
  int64_t chunk = CHUNK_FLOATS / k;
  if (chunk < 64) chunk = 64;
  if (chunk > rows) chunk = rows;
  float *cols = malloc((size_t)(chunk * k) * sizeof(float));
  if (!cols) return 0;
  for (int64_t first = 0; first < rows; first += chunk) {
    const int64_t m = rows - first < chunk ? rows - first : chunk;
    gather_t g = {x, cols, h, wd, c, kh, kw, stride, pad, oh, ow, first};
    parallel_for(gather_rows, &g, m, m * k);
    dense(cols, w, b, r ? r + first * oc : NULL, y + first * oc, m, oc, k);
    if (with_relu) relu(y + first * oc, m, oc);
  }
  free(cols);
  return 1;
}

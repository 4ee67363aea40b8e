/*
 * CLIP's QuickGELU and its gradient, elementwise, split over threads; e^x is exp_poly (vecmath.h).
 *   y  = x sigmoid(1.702 x)
 *   dx = dy (s + 1.702 x s (1 - s)),  s = sigmoid(1.702 x)
 */
#include "dampl_native.h"
#include "vecmath.h"

typedef struct {
  const float *x, *dy;
  float *y;
} gelu_t;

static void gelu_range(const void *p, int64_t i0, int64_t i1) {
  const gelu_t *a = (const gelu_t *)p;
  const float *x = a->x;
  float *y = a->y;
  for (int64_t i = i0; i < i1; i++) y[i] = x[i] / (1.0f + exp_poly(-1.702f * x[i]));
}

static void gelu_grad_range(const void *p, int64_t i0, int64_t i1) {
  const gelu_t *a = (const gelu_t *)p;
  const float *x = a->x, *dy = a->dy;
  float *y = a->y;
  for (int64_t i = i0; i < i1; i++) {
    const float s = 1.0f / (1.0f + exp_poly(-1.702f * x[i]));
    y[i] = dy[i] * (s + 1.702f * x[i] * s * (1.0f - s));
  }
}

void quick_gelu(const float *x, float *y, int64_t n) {
  gelu_t a = {x, NULL, y};
  parallel_for(gelu_range, &a, n, n);
}

void quick_gelu_grad(const float *x, const float *dy, float *dx, int64_t n) {
  gelu_t a = {x, dy, dx};
  parallel_for(gelu_grad_range, &a, n, n);
}

/* Row softmax (over the first `seen` entries, the rest zero: a causal mask) and its gradient. */
#include <math.h>
#include "dampl_native.h"
#include "vecmath.h"

void softmax_row(const float *x, float *y, int64_t seen, int64_t n) {
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

void softmax_grad_row(const float *a, const float *da, float *dx, int64_t n) {
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

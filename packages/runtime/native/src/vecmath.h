/*
 * Inline helpers of the row kernels, written so that the compiler vectorises the loops over them.
 */
#ifndef DAMPL_VECMATH_H
#define DAMPL_VECMATH_H

#include <stdint.h>

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
static inline double sum16(const float *x, int64_t n) {
  float acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) acc[j] += x[i + j];
  double s = 0;
  for (int j = 0; j < 16; j++) s += acc[j];
  for (; i < n; i++) s += x[i];
  return s;
}

#endif

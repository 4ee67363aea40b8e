/* The ViT patch embedding's gather: images to rows of patches, for one product with the weights. */
#include <string.h>
#include "dampl_native.h"

typedef struct {
  const float *x;
  float *y;
  int64_t c, r, p;
} patches_t;

/* one patch row per (image, patch row) pair */
static void patches_range(const void *q, int64_t j0, int64_t j1) {
  const patches_t *a = (const patches_t *)q;
  const int64_t c = a->c, r = a->r, p = a->p, g = r / p, cols = c * p * p;
  for (int64_t j = j0; j < j1; j++) {
    const int64_t img = j / g, gy = j % g;
    for (int64_t gx = 0; gx < g; gx++) {
      float *row = a->y + ((img * g + gy) * g + gx) * cols;
      for (int64_t ch = 0; ch < c; ch++)
        for (int64_t ky = 0; ky < p; ky++)
          memcpy(row + (ch * p + ky) * p, a->x + ((img * c + ch) * r + gy * p + ky) * r + gx * p, (size_t)p * sizeof(float));
    }
  }
}

void patches(const float *x, float *y, int64_t n, int64_t c, int64_t r, int64_t p) {
  patches_t a = {x, y, c, r, p};
  parallel_for(patches_range, &a, n * (r / p), n * c * r * r);
}

/*
 * Register-tiled products of the small matrices inside one attention head (attention.c), where
 * K is the head width or the sequence length (64 and 197 for ViT-B/16): OpenBLAS's packing and
 * dispatch cost more than the arithmetic at these sizes. Compiled per code path: a vector is the
 * path's widest (16 floats on avx512, 8 on avx2, 4 otherwise), a block of C is TILE_MR rows by two
 * vectors held in 12 accumulators, and each step of p broadcasts one element of A per row.
 */
#ifndef DAMPL_TILE_H
#define DAMPL_TILE_H

#include <stdint.h>

/* set from outside, TILE_VW runs another width's logic on any x86-64 (GCC splits wide vectors) */
#ifndef TILE_VW
#if defined(__AVX512F__)
#define TILE_VW 16
#elif defined(__AVX__)
#define TILE_VW 8
#else
#define TILE_VW 4
#endif
#endif
#define TILE_MR 6

typedef float tile_vec __attribute__((vector_size(TILE_VW * sizeof(float))));
/* the same vector at any float address */
typedef float tile_uvec __attribute__((vector_size(TILE_VW * sizeof(float)), aligned(sizeof(float))));

/*
 * The mr x (nv vectors) block of C at c: alpha sum_p a(i, p) b[p ldb + j] (+ c where acc), with
 * a(i, p) = a[i ars + p acs], so that A can be read transposed. mr and nv are constants where it
 * is inlined, which keeps the accumulators in registers.
 */
static inline __attribute__((always_inline)) void tile_block(const float *a, int64_t ars, int64_t acs, const float *b, int64_t ldb,
                                                             int64_t k, float alpha, int acc, float *c, int64_t ldc, const int mr,
                                                             const int nv) {
  tile_vec x[TILE_MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) x[i][0] = x[i][1] = (tile_vec){0};
  for (int64_t p = 0; p < k; p++) {
    const float *bp = b + p * ldb, *ap = a + p * acs;
    const tile_vec b0 = *(const tile_uvec *)bp;
    const tile_vec b1 = nv > 1 ? *(const tile_uvec *)(bp + TILE_VW) : b0;
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) {
      const float ai = ap[i * ars];
      x[i][0] += ai * b0;
      if (nv > 1) x[i][1] += ai * b1;
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) {
#pragma GCC unroll 2
    for (int j = 0; j < nv; j++) {
      tile_uvec *ci = (tile_uvec *)(c + i * ldc + j * TILE_VW);
      const tile_vec v = alpha * x[i][j];
      *ci = acc ? *ci + v : v;
    }
  }
}

#define TILE_ROWS(NV)                                                                                 \
  switch (mr) {                                                                                       \
    case 6: tile_block(a, ars, acs, b, ldb, k, alpha, acc, c, ldc, 6, NV); break;                     \
    case 5: tile_block(a, ars, acs, b, ldb, k, alpha, acc, c, ldc, 5, NV); break;                     \
    case 4: tile_block(a, ars, acs, b, ldb, k, alpha, acc, c, ldc, 4, NV); break;                     \
    case 3: tile_block(a, ars, acs, b, ldb, k, alpha, acc, c, ldc, 3, NV); break;                     \
    case 2: tile_block(a, ars, acs, b, ldb, k, alpha, acc, c, ldc, 2, NV); break;                     \
    default: tile_block(a, ars, acs, b, ldb, k, alpha, acc, c, ldc, 1, NV); break;                    \
  }

static void tile_rows(const float *a, int64_t ars, int64_t acs, const float *b, int64_t ldb, int64_t k, float alpha, int acc,
                      float *c, int64_t ldc, int mr, int nv) {
  if (nv > 1) {
    TILE_ROWS(2)
  } else {
    TILE_ROWS(1)
  }
}

/*
 * C [m, n] (row stride ldc) = alpha A B (+ C where acc), A [m, k] with element (i, p) at
 * a[i ars + p acs], B [k, n] row-major (ldb); n a multiple of TILE_VW. Column panels outside, so
 * that a panel of B stays in L1 while the rows of A go past it.
 */
static void tile_gemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t ars, int64_t acs, const float *b,
                      int64_t ldb, int acc, float *c, int64_t ldc) {
  for (int64_t j = 0; j < n; j += 2 * TILE_VW) {
    const int nv = n - j >= 2 * TILE_VW ? 2 : 1;
    for (int64_t i = 0; i < m; i += TILE_MR) {
      const int mr = m - i >= TILE_MR ? TILE_MR : (int)(m - i);
      tile_rows(a + i * ars, ars, acs, b + j, ldb, k, alpha, acc, c + i * ldc + j, ldc, mr, nv);
    }
  }
}

#endif

/*
 * The fp32 multiply-add peak of this code path, measured: CHAINS independent accumulators of the
 * path's widest vector (so that every FMA unit stays busy through its latency), updated by
 * acc = acc * m + c in a loop the compiler keeps in registers, on `threads` threads at once. With
 * FMA (avx2, avx512) each update is one fused instruction of 2 FLOP per lane; on sse2 a multiply
 * and an add.
 */
#include <pthread.h>
#include <time.h>
#include "dampl_native.h"

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif
#define CHAINS 12
#define INNER 4096

/* an empty asm that "changes" a vector: the compiler cannot fold the loop away */
#if defined(__x86_64__) || defined(__i386__)
#define KEEP(v) __asm__ volatile("" : "+x"(v))
#elif defined(__aarch64__)
#define KEEP(v) __asm__ volatile("" : "+w"(v))
#else
#define KEEP(v) __asm__ volatile("" : : "r"(&(v)) : "memory")
#endif

typedef float vec_t __attribute__((vector_size(LANES * sizeof(float))));

typedef struct {
  double seconds;
  double flops;
  float sink;
} peak_job_t;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* the chains as named variables, so that they stay in registers */
#define CHAIN_LIST(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define DECLARE(k) vec_t a##k = m * (float)(k + 1) * 1e-3f;
#define UPDATE(k) a##k = a##k * m + c;
#define HOLD(k) KEEP(a##k);
#define TOTAL(k) for (int i = 0; i < LANES; i++) s += a##k[i];

static void *peak_thread(void *p) {
  peak_job_t *j = (peak_job_t *)p;
  vec_t m, c;
  for (int i = 0; i < LANES; i++) {
    m[i] = 0.999999f;
    c[i] = 1e-7f;
  }
  CHAIN_LIST(DECLARE)
  const double t0 = now();
  double rounds = 0;
  do {
    for (int r = 0; r < INNER; r++) {
      CHAIN_LIST(UPDATE)
      CHAIN_LIST(HOLD)
    }
    rounds += INNER;
  } while (now() - t0 < j->seconds);
  const double dt = now() - t0;
  float s = 0;
  CHAIN_LIST(TOTAL)
  j->sink = s;
  j->flops = rounds * CHAINS * LANES * 2.0 / dt;
  return NULL;
}

double fma_peak(double seconds, int threads) {
  if (threads < 1) threads = 1;
  if (threads > MAX_WORKERS) threads = MAX_WORKERS;
  pthread_t tid[MAX_WORKERS];
  int created[MAX_WORKERS] = {0};
  peak_job_t jobs[MAX_WORKERS];
  for (int t = 0; t < threads; t++) {
    jobs[t].seconds = seconds;
    jobs[t].flops = 0;
    if (t > 0) created[t] = pthread_create(&tid[t], NULL, peak_thread, &jobs[t]) == 0;
  }
  peak_thread(&jobs[0]);
  double total = jobs[0].flops;
  for (int t = 1; t < threads; t++) {
    if (created[t]) pthread_join(tid[t], NULL);
    else peak_thread(&jobs[t]);
    total += jobs[t].flops;
  }
  return total;
}

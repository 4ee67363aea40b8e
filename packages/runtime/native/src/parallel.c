/* Splitting a range of rows (or matrices) over threads, one pthread per part. */
#include <pthread.h>
#include "dampl_native.h"

typedef struct {
  range_fn fn;
  const void *args;
  int64_t from, to;
} range_job_t;

static void *range_thread(void *p) {
  const range_job_t *j = (const range_job_t *)p;
  j->fn(j->args, j->from, j->to);
  return NULL;
}

void parallel_for_n(int workers, range_fn fn, const void *args, int64_t count, int64_t work) {
  if (workers > MAX_WORKERS) workers = MAX_WORKERS;
  if (workers > count) workers = (int)count;
  if (workers <= 1 || work < 65536) {
    fn(args, 0, count);
    return;
  }
  pthread_t tid[MAX_WORKERS];
  int created[MAX_WORKERS] = {0};
  range_job_t jobs[MAX_WORKERS];
  for (int w = 0; w < workers; w++) {
    jobs[w].fn = fn;
    jobs[w].args = args;
    jobs[w].from = count * w / workers;
    jobs[w].to = count * (w + 1) / workers;
    if (w > 0) created[w] = pthread_create(&tid[w], NULL, range_thread, &jobs[w]) == 0;
  }
  fn(args, jobs[0].from, jobs[0].to);
  for (int w = 1; w < workers; w++) {
    if (created[w]) pthread_join(tid[w], NULL);
    else fn(args, jobs[w].from, jobs[w].to);
  }
}

void parallel_for(range_fn fn, const void *args, int64_t count, int64_t work) {
  parallel_for_n(blas_threads(), fn, args, count, work);
}

import { describe, expect, it } from 'vitest';
import { workerEnv } from './jobs.js';

describe('the workers\' BLAS threads', () => {
  it('share the cores among the workers: floor(cores / jobs), at least one each', () => {
    expect(workerEnv({}, 2, 2).OPENBLAS_NUM_THREADS).toBe('1');
    expect(workerEnv({}, 2, 16).OPENBLAS_NUM_THREADS).toBe('8');
    expect(workerEnv({}, 3, 16).OPENBLAS_NUM_THREADS).toBe('5');
    expect(workerEnv({}, 4, 2).OPENBLAS_NUM_THREADS).toBe('1');
    expect(workerEnv({ PATH: '/bin' }, 1, 4)).toEqual({ PATH: '/bin', OPENBLAS_NUM_THREADS: '4' });
  });

  it('leave a thread count the user set', () => {
    expect(workerEnv({ OPENBLAS_NUM_THREADS: '3' }, 2, 16).OPENBLAS_NUM_THREADS).toBe('3');
  });
});

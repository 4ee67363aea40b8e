/**
 * The fake text tower and its toy problem for one test file: made before the file's tests (on the
 * wasm backend unless told), the tower freed after them. Give it the test runner's hooks.
 *
 * @example
 *   import { afterAll, beforeAll } from 'vitest';
 *   const fx = useToyProblem({ beforeAll, afterAll });
 *   it('fits', async () => { await checkMethod(myMethod, fx); });
 */
import { selectBackend, type BackendName } from '@dampl/runtime';
import { FakeTextTower, type FakeTowerOptions } from './fake-tower.js';
import { makeToyProblem, type ToyOptions, type ToyProblem } from './toy.js';

interface Hooks {
  beforeAll(fn: () => Promise<void> | void): void;
  afterAll(fn: () => Promise<void> | void): void;
}

export interface ToyFixture {
  readonly tower: FakeTextTower;
  readonly toy: ToyProblem;
}

export interface ToyFixtureOptions {
  /** Default 'wasm'. */
  backend?: BackendName;
  tower?: FakeTowerOptions;
  toy?: ToyOptions;
}

export function useToyProblem(hooks: Hooks, o: ToyFixtureOptions = {}): ToyFixture {
  let tower: FakeTextTower | undefined;
  let toy: ToyProblem | undefined;
  hooks.beforeAll(async () => {
    await selectBackend(o.backend ?? 'wasm');
    tower = new FakeTextTower(o.tower);
    toy = await makeToyProblem(tower, o.toy);
  });
  hooks.afterAll(() => tower?.dispose());
  const made = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the toy problem is made in beforeAll: use it inside a test');
    return v;
  };
  return {
    get tower() { return made(tower); },
    get toy() { return made(toy); },
  };
}

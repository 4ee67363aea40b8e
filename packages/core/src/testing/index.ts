/**
 * @dampl/core/testing: what a method package's tests use: a toy problem on a small fake text
 * tower (useToyProblem, makeToyProblem) and the contract check every method passes (checkMethod).
 */
export { makeToyProblem, type ToyProblem, type ToyOptions } from './toy.js';
export { checkMethod, type CheckOptions, type CheckReport } from './check-method.js';
export { useToyProblem, type ToyFixture, type ToyFixtureOptions } from './toy-fixture.js';

export { FakeTextTower, type FakeTowerOptions } from './fake-tower.js';
export { makeToyProblem, type ToyProblem, type ToyOptions } from './toy.js';
export { checkMethod, type CheckOptions, type CheckReport } from './check-method.js';
export { useToyProblem, type ToyFixture } from './toy-fixture.js';

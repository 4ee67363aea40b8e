/**
 * The object classes of the synthetic world. Each is a procedure that composes filled shapes
 * and lines in a local frame (x right, y down, inside about [-1, 1]^2), with its proportions and
 * optional pieces drawn from the image's random stream, so that instances of a class share a
 * shape structure and differ in detail. Colours are given by role (see colour.ts); the domain
 * style decides how a part is drawn.
 */
import type { Rng } from '@dampl/runtime';
import type { ColourName } from './colour.js';
import type { Part } from './parts.js';
import { car, boat, house } from './shapes-buildings.js';
import { fish, flower, mushroom, tree } from './shapes-nature.js';
import { clock, cup, key, lamp, umbrella } from './shapes-objects.js';

export interface SynthClassDef {
  folder: string;
  name: string;
  /** Main colours an instance may have; a repeated name is drawn more often. */
  colours: readonly ColourName[];
  /** Largest rotation, degrees either way. */
  maxRotation: number;
  /** Whether mirror images are drawn (asymmetric objects). */
  flip: boolean;
  build(rng: Rng): Part[];
}

const ANY: readonly ColourName[] = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown', 'grey', 'black', 'white'];
const BRIGHT: readonly ColourName[] = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink'];

export const CLASS_DEFS: readonly SynthClassDef[] = [
  { folder: 'house', name: 'house', colours: ANY, maxRotation: 6, flip: true, build: house },
  { folder: 'tree', name: 'tree', colours: ['green', 'green', 'green', 'orange', 'yellow', 'red'], maxRotation: 6, flip: true, build: tree },
  { folder: 'car', name: 'car', colours: ANY, maxRotation: 10, flip: true, build: car },
  { folder: 'fish', name: 'fish', colours: [...BRIGHT, 'grey'], maxRotation: 20, flip: true, build: fish },
  { folder: 'flower', name: 'flower', colours: ['red', 'orange', 'yellow', 'blue', 'purple', 'pink', 'white'], maxRotation: 15, flip: true, build: flower },
  { folder: 'cup', name: 'cup', colours: ANY, maxRotation: 10, flip: true, build: cup },
  { folder: 'alarm_clock', name: 'alarm clock', colours: ANY, maxRotation: 12, flip: false, build: clock },
  { folder: 'key', name: 'key', colours: ['yellow', 'yellow', 'grey', 'grey', 'brown', 'red', 'blue', 'green'], maxRotation: 35, flip: true, build: key },
  { folder: 'lamp', name: 'lamp', colours: ANY, maxRotation: 8, flip: true, build: lamp },
  { folder: 'umbrella', name: 'umbrella', colours: ANY, maxRotation: 15, flip: true, build: umbrella },
  { folder: 'sailboat', name: 'sailboat', colours: [...BRIGHT, 'brown', 'white', 'black'], maxRotation: 10, flip: true, build: boat },
  { folder: 'mushroom', name: 'mushroom', colours: ['red', 'red', 'brown', 'orange', 'yellow', 'purple'], maxRotation: 12, flip: true, build: mushroom },
];

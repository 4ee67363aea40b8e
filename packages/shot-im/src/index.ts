/**
 * SHOT-IM as a method package: the bench finds it through `"dampl": { "methods": "./src/index.ts" }`
 * in package.json and registers what `methods` lists.
 */
import { shotIm } from './shot-im.js';

export { shotIm, shotImSchema, fitShotIm, type ShotImConfig } from './shot-im.js';

export const methods = [shotIm];

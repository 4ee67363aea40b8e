/**
 * The bench's copy of the published figures (src/anchors.json) against the project brief's
 * ../shared/reference/anchors.json: `nx run bench:test:shared`, which needs that folder
 * (DAMPL_SHARED names another place).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedReferenceDir } from '@dampl/runtime';
import { loadAnchors, parseAnchors } from './anchors.js';

const ref = sharedReferenceDir();
if (!ref) throw new Error('bench:test:shared compares src/anchors.json with ../shared/reference/anchors.json: it needs that folder beside the checkout, or DAMPL_SHARED set to the folder holding reference/');

describe('published figures', () => {
  it('holds the figures of shared/reference/anchors.json', () => {
    const original = parseAnchors(JSON.parse(readFileSync(path.join(ref, 'anchors.json'), 'utf8')));
    expect(loadAnchors().rows).toEqual(original.rows);
  });
});

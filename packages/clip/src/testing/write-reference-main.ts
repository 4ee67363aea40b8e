/**
 * Rewrites packages/clip/reference from OpenAI's reference folder:
 *   npx tsx packages/clip/src/testing/write-reference-main.ts ../shared/reference/clip
 */
import path from 'node:path';
import { writeSlimReference } from './reference.js';

const from = process.argv[2];
if (!from) {
  process.stderr.write('usage: write-reference-main.ts <shared/reference/clip>\n');
  process.exit(2);
}
await writeSlimReference(path.resolve(from));

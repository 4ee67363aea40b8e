/** `nx run synth:preview`: writes a contact sheet of the synthetic world (preview.ts) as a PNG. */
import { writeFile } from 'node:fs/promises';
import { contactSheet } from './preview.js';
import { encodePng } from './png.js';

async function main(argv: string[]): Promise<void> {
  const out = argv[0];
  if (!out || out.startsWith('--')) {
    process.stderr.write('usage: preview.ts OUT.png [--seed N] [--per-domain N] [--size N] [--zoom N]\n');
    process.exit(2);
  }
  const flag = (name: string, dflt: number): number => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const sheet = contactSheet({
    seed: flag('--seed', 0),
    perDomain: flag('--per-domain', 2),
    size: flag('--size', 64),
    zoom: flag('--zoom', 2),
  });
  await writeFile(out, encodePng(sheet.rgb, sheet.width, sheet.height));
  process.stderr.write(`wrote ${out} (${sheet.width}x${sheet.height})\n`);
}

await main(process.argv.slice(2));

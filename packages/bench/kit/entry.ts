// The GPU kit's bundle entry (build.ts bundles it with esbuild into app/dampl.mjs): the `dampl` command.
import { main } from '../src/cli.js';

process.exitCode = await main(process.argv.slice(2));

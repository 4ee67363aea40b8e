#!/usr/bin/env node
// The `dampl` command. Sources are TypeScript, run through tsx's loader without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));

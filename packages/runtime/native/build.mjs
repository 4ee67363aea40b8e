#!/usr/bin/env node
// Builds the native addon (the kernels and their Node-API glue in src/*.c) with the system C compiler and Node's
// headers, at install time (root `postinstall`). It never fails the install: without a compiler or
// headers it says what is missing and the wasm/cpu kernels are used. `--strict` exits 1 instead.
//   node packages/runtime/native/build.mjs [--strict]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'build', 'dampl_blas.node');
const strict = process.argv.includes('--strict');

function give(msg) {
  console.log(`dampl native: ${msg}; matrix products stay on the tfjs kernels`);
  process.exit(strict ? 1 : 0);
}

if (process.env.DAMPL_NATIVE === '0') give('DAMPL_NATIVE=0, not built');
if (process.platform === 'win32') give('not built on Windows');

const prefix = process.config.variables.node_prefix || path.resolve(process.execPath, '..', '..');
const includes = [
  process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
  path.join(prefix, 'include', 'node'),
  path.resolve(process.execPath, '..', '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
].filter(Boolean);
const include = includes.find((d) => existsSync(path.join(d, 'node_api.h')));
if (!include) give(`Node's headers (node_api.h) not found in ${includes.join(', ')}`);

const cc = process.env.CC || 'cc';
const flags = ['-O3', '-fno-math-errno', '-fPIC', '-shared', '-DNODE_GYP_MODULE_NAME=dampl_blas', `-I${include}`];
if (process.platform === 'darwin') flags.push('-undefined', 'dynamic_lookup');
mkdirSync(path.dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
// -march=native: the addon is built on the machine that runs it (vectorised row loops);
// a compiler that refuses it gets a second try without.
const sources = readdirSync(path.join(here, 'src')).filter((f) => f.endsWith('.c')).sort().map((f) => path.join(here, 'src', f));
const compile = (extra) => execFileSync(cc, [...flags, ...extra, ...sources, '-o', tmp, ...(process.platform === 'linux' ? ['-ldl', '-lpthread', '-lm'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
try {
  try {
    compile(process.env.DAMPL_NATIVE_MARCH === '0' ? [] : ['-march=native']);
  } catch (e) {
    if (e.code === 'ENOENT') throw e;
    compile([]);
  }
} catch (e) {
  const why = e.code === 'ENOENT' ? `no C compiler ('${cc}'; install gcc or set CC)` : `${cc} failed: ${String(e.stderr || e.message).trim().split('\n').slice(0, 3).join(' | ')}`;
  give(why);
}
renameSync(tmp, out);
console.log(`dampl native: built ${path.relative(process.cwd(), out)}`);

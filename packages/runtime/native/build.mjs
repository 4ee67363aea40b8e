#!/usr/bin/env node
// Builds the native addon (the kernels and their Node-API glue in src/*.c) with the system C
// compiler and Node's headers, at install time (root `postinstall`). It never fails the install: without a compiler or
// headers it says what is missing and the wasm/cpu kernels are used. `--strict` exits 1 instead.
//   node packages/runtime/native/build.mjs [--strict]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
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
// -fno-trapping-math: without it GCC keeps the clamps of exp_poly (vecmath.h) as branches and the
// QuickGELU and softmax loops stay scalar; results and NaN propagation are unchanged.
const flags = ['-O3', '-fno-math-errno', '-fno-trapping-math', '-fPIC', '-DNODE_GYP_MODULE_NAME=dampl_blas', `-I${include}`];
const linkFlags = ['-shared', ...(process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : []), ...(process.platform === 'linux' ? ['-ldl', '-lpthread', '-lm'] : [])];
// The row kernels, compiled once per code path (src/dampl_native.h); dispatch.c picks one at load
// time from the CPU's features. The rest (the Node-API glue, the BLAS loader, threads) once.
const KERNEL_SOURCES = ['attention.c', 'gelu.c', 'layernorm.c', 'patches.c', 'peak.c', 'softmax.c'];
const PATHS = process.arch === 'x64'
  ? {
    avx512: ['-mavx512f', '-mavx512bw', '-mavx512vl', '-mavx512dq', '-mavx2', '-mfma', '-mprefer-vector-width=512'],
    avx2: ['-mavx2', '-mfma'],
    sse2: [],
  }
  : { generic: [] };
const src = (f) => path.join(here, 'src', f);
const common = readdirSync(path.join(here, 'src')).filter((f) => f.endsWith('.c') && !KERNEL_SOURCES.includes(f) && f !== 'dispatch.c').sort();
const objDir = path.join(path.dirname(out), `obj-${process.pid}`);
mkdirSync(objDir, { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
const run = (args) => execFileSync(cc, args, { stdio: ['ignore', 'pipe', 'pipe'] });
const firstLines = (e) => String(e.stderr || e.message).trim().split('\n').slice(0, 3).join(' | ');
try {
  const objects = [];
  const built = [];
  for (const [name, extra] of Object.entries(PATHS)) {
    const objs = KERNEL_SOURCES.map((f) => path.join(objDir, `${f.replace(/\.c$/, '')}_${name}.o`));
    try {
      KERNEL_SOURCES.forEach((f, i) => run([...flags, ...extra, `-DDAMPL_PATH=${name}`, '-c', src(f), '-o', objs[i]]));
      objects.push(...objs);
      built.push(name);
    } catch (e) {
      if (e.code === 'ENOENT') throw e;
      console.log(`dampl native: the ${name} kernels did not compile (${firstLines(e)}); built without them`);
    }
  }
  if (!built.length) throw Object.assign(new Error('no code path of the row kernels compiled'), { stderr: 'no code path of the row kernels compiled' });
  const have = built.map((n) => `-DHAVE_${n.toUpperCase()}`);
  for (const f of [...common, 'dispatch.c']) {
    const o = path.join(objDir, f.replace(/\.c$/, '.o'));
    run([...flags, ...(f === 'dispatch.c' ? have : []), '-c', src(f), '-o', o]);
    objects.push(o);
  }
  run([...objects, '-o', tmp, ...linkFlags]);
  console.log(`dampl native: kernel paths ${built.join(', ')}`);
} catch (e) {
  const why = e.code === 'ENOENT' ? `no C compiler ('${cc}'; install gcc or set CC)` : `${cc} failed: ${firstLines(e)}`;
  rmSync(objDir, { recursive: true, force: true });
  give(why);
}
rmSync(objDir, { recursive: true, force: true });
renameSync(tmp, out);
console.log(`dampl native: built ${path.relative(process.cwd(), out)}`);

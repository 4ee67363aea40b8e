/**
 * A single-node SLURM cluster on this machine for the end-to-end test (`nx run bench:slurm-e2e`):
 * a generated slurm.conf naming this host with its cores (`slurmd -C`), a fresh munge key, every
 * state, spool, log, pid file and socket in one folder, and the three daemons (munged,
 * slurmctld, slurmd) started in the foreground as children and stopped by their pids. Clients
 * find it through `SLURM_CONF` in `env`. It needs root (slurmd starts the jobs as their users)
 * and Debian's slurm-wlm and munge; it installs nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SLURM_DAEMONS = ['munged', 'slurmctld', 'slurmd'] as const;

export interface LocalSlurm {
  dir: string;
  host: string;
  /** The environment given with SLURM_CONF set. */
  env: NodeJS.ProcessEnv;
  /** Cancels the jobs left, then stops the daemons by pid. */
  stop(): Promise<void>;
}

/** The daemons that are not on PATH (or in /usr/sbin). */
export function missingDaemons(): string[] {
  return SLURM_DAEMONS.filter((d) => !findBinary(d));
}

function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin', '/sbin'];
  return dirs.map((d) => path.join(d, name)).find((f) => existsSync(f));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms: number, logs: string[]): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`local SLURM: ${what} did not happen within ${ms / 1000} s; see ${logs.join(', ')}`);
    await sleep(200);
  }
}

/** The node line of slurm.conf: `slurmd -C`'s (this host's name, sockets, cores, memory), else the host and its CPU count. */
function nodeLine(slurmd: string, host: string): string {
  const r = spawnSync(slurmd, ['-C'], { encoding: 'utf8' });
  const line = r.status === 0 ? r.stdout.split('\n').find((l) => l.startsWith('NodeName=')) : undefined;
  return line ?? `NodeName=${host} CPUs=${os.availableParallelism()}`;
}

/** `base`: the environment of the daemons and of what is submitted to them (default: this process's). */
export async function startLocalSlurm(dir: string, base: NodeJS.ProcessEnv = process.env): Promise<LocalSlurm> {
  const missing = missingDaemons();
  if (missing.length) throw new Error(`local SLURM: ${missing.join(', ')} not found; install Debian's slurm-wlm and munge (apt-get install slurm-wlm munge, as root)`);
  if (process.getuid?.() !== 0) throw new Error('local SLURM: the daemons run as root here (slurmd starts jobs as their users); run the test as root');
  const bin = Object.fromEntries(SLURM_DAEMONS.map((d) => [d, findBinary(d)!])) as Record<(typeof SLURM_DAEMONS)[number], string>;
  for (const sub of ['state', 'spool']) await mkdir(path.join(dir, sub), { recursive: true });
  // munged wants its socket's folder and those above searchable by everyone, and its key readable by root alone
  await chmod(dir, 0o755);
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    if (!(statSync(d).mode & 0o001)) throw new Error(`local SLURM: munged needs every folder above its socket searchable by all; ${d} is not (chmod o+x ${d}, or start the cluster elsewhere)`);
  }
  const key = path.join(dir, 'munge.key');
  await writeFile(key, randomBytes(1024), { mode: 0o400 });
  const socket = path.join(dir, 'munge.sock');
  const host = os.hostname().split('.')[0]!;
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const f = (n: string) => path.join(dir, n);
  const conf = [
    'ClusterName=dampl-e2e', `SlurmctldHost=${host}`, `SlurmctldPort=${ctldPort}`, `SlurmdPort=${dPort}`, 'SlurmUser=root',
    'AuthType=auth/munge', `AuthInfo=socket=${socket}`, 'CredType=cred/munge',
    `StateSaveLocation=${f('state')}`, `SlurmdSpoolDir=${f('spool')}`,
    `SlurmctldPidFile=${f('slurmctld.pid')}`, `SlurmdPidFile=${f('slurmd.pid')}`, `SlurmctldLogFile=${f('slurmctld.log')}`, `SlurmdLogFile=${f('slurmd.log')}`,
    'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'SelectType=select/cons_tres', 'SelectTypeParameters=CR_CPU',
    'SchedulerType=sched/backfill', 'AccountingStorageType=accounting_storage/none', 'JobAcctGatherType=jobacct_gather/none', 'JobCompType=jobcomp/none',
    'MpiDefault=none', 'SwitchType=switch/none', 'MailProg=/bin/true', 'ReturnToService=2', 'KillWait=2', 'MinJobAge=600', 'InactiveLimit=0',
    `${nodeLine(bin.slurmd, host)} NodeAddr=127.0.0.1 State=UNKNOWN`,
    `PartitionName=e2e Nodes=${host} Default=YES MaxTime=INFINITE State=UP`, '',
  ].join('\n');
  const confFile = f('slurm.conf');
  await writeFile(confFile, conf);
  const env = { ...base, SLURM_CONF: confFile };
  const children: ChildProcess[] = [];
  // the daemons log to their files in `dir`, and what they print before that to <name>.err
  const start = (cmd: string, args: string[]) => {
    const err = openSync(f(`${path.basename(cmd)}.err`), 'w');
    const c = spawn(cmd, args, { env, stdio: ['ignore', err, err] });
    closeSync(err);
    c.on('error', () => {});
    children.push(c);
  };
  const exited = () => {
    const c = children.find((x) => x.exitCode !== null || x.signalCode !== null);
    if (!c) return false;
    const name = path.basename(c.spawnfile);
    throw new Error(`local SLURM: ${name} exited (${c.exitCode ?? c.signalCode}): ${readFileSync(f(`${name}.err`), 'utf8').trim().split('\n').slice(-3).join(' | ')}`);
  };
  const stop = async () => {
    const ids = spawnSync('squeue', ['-h', '-o', '%A'], { env, encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
    if (ids.length) {
      spawnSync('scancel', ids, { env });
      await sleep(3000);
    }
    for (const c of [...children].reverse()) {
      if (c.exitCode !== null || c.signalCode !== null || !c.pid) continue;
      const gone = new Promise((r) => c.once('exit', r));
      process.kill(c.pid, 'SIGTERM');
      await Promise.race([gone, sleep(10_000)]);
      if (c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
    }
  };
  try {
    start(bin.munged, ['--foreground', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${f('munged.pid')}`, `--log-file=${f('munged.log')}`, `--seed-file=${f('munge.seed')}`]);
    await until('munged creating its socket', () => exited() || existsSync(socket), 15_000, [f('munged.log')]);
    start(bin.slurmctld, ['-D', '-i', '-f', confFile]);
    start(bin.slurmd, ['-D', '-f', confFile]);
    await until('the node becoming idle', () => {
      exited();
      const r = spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' });
      return r.status === 0 && /^idle/m.test(r.stdout);
    }, 30_000, [f('slurmctld.log'), f('slurmd.log')]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, host, env, stop };
}

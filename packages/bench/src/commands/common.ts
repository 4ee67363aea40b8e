import type { Argv } from 'yargs';
import { BACKENDS, createLogger, selectBackend, describeBackend, type BackendChoice, type Logger, type BackendReport } from '@dampl/runtime';

/** Options every command takes. */
export interface GlobalOptions {
  backend: BackendChoice;
  verbose: boolean;
  quiet: boolean;
  /** Method packages besides the workspace's and dampl.config.json's. */
  plugin?: string[];
}

export function withGlobalOptions<T>(y: Argv<T>): Argv<T & GlobalOptions> {
  return y
    .option('backend', {
      choices: ['auto', ...BACKENDS] as const,
      default: 'auto' as BackendChoice,
      describe: 'compute backend (auto: tensorflow, webgpu, wasm, cpu, first that loads)',
      global: true,
    })
    .option('verbose', { type: 'boolean', default: false, describe: 'debug logging', global: true })
    .option('quiet', { type: 'boolean', default: false, describe: 'warnings and errors only', global: true }) as Argv<T & GlobalOptions>;
}

/** `--plugin`, on the commands that load methods. */
export const PLUGIN_OPTION = {
  type: 'string', array: true, global: true,
  describe: 'a method package to load: a folder, a module file or an installed package name (besides the workspace\'s and dampl.config.json\'s)',
} as const;

/** Registers every method: the workspace's method packages, dampl.config.json's plugins and --plugin (plugins.ts). */
export async function registerMethods(o: Pick<GlobalOptions, 'plugin'>): Promise<void> {
  const { loadMethods } = await import('../plugins.js');
  await loadMethods({ plugins: o.plugin });
}

export function loggerFor(o: GlobalOptions): Logger {
  return createLogger({ level: o.verbose ? 'debug' : o.quiet ? 'warn' : 'info' });
}

/** Activates the requested backend and logs what was chosen and why. */
export async function useBackend(o: GlobalOptions, log: Logger): Promise<BackendReport> {
  const r = await selectBackend(o.backend);
  log.info(`backend ${describeBackend(r)}`);
  return r;
}

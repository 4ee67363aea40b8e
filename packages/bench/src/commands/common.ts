import type { Argv } from 'yargs';
import { BACKENDS, createLogger, selectBackend, describeBackend, type BackendChoice, type Logger, type BackendReport } from '@dampl/runtime';

/** Options every command takes. */
export interface GlobalOptions {
  backend: BackendChoice;
  verbose: boolean;
  quiet: boolean;
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

export function loggerFor(o: GlobalOptions): Logger {
  return createLogger({ level: o.verbose ? 'debug' : o.quiet ? 'warn' : 'info' });
}

/** Activates the requested backend and logs what was chosen and why. */
export async function useBackend(o: GlobalOptions, log: Logger): Promise<BackendReport> {
  const r = await selectBackend(o.backend);
  log.info(`backend ${describeBackend(r)}`);
  return r;
}

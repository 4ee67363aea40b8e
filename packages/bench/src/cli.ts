/**
 * The `dampl` command line. Each command is a module under commands/; register new ones in
 * COMMANDS below.
 */
import yargs, { type CommandModule } from 'yargs';
import { DamplError } from '@dampl/runtime';
import { withGlobalOptions, type GlobalOptions } from './commands/common.js';
import { benchCommand } from './commands/bench.js';
import { dataCommand } from './commands/data.js';
import { doctorCommand } from './commands/doctor.js';
import { featuresCommand } from './commands/features.js';
import { methodsCommand } from './commands/methods.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command parses its own options type
const COMMANDS: CommandModule<GlobalOptions, any>[] = [doctorCommand, dataCommand, featuresCommand, methodsCommand, benchCommand];

/** Runs the command line; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  let parser = withGlobalOptions(yargs(args))
    .scriptName('dampl')
    .usage('$0 <command> [options]\n\nCLIP-based unsupervised domain adaptation: DAMPL and its baselines.')
    .strict()
    .demandCommand(1, 'name a command; `dampl --help` lists them')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help() && ''}${msg}\n\nRun \`dampl --help\` for usage.\n`);
      throw new UsageError(msg);
    });
  for (const c of COMMANDS) parser = parser.command(c);
  try {
    await parser.parseAsync();
    return 0;
  } catch (e) {
    if (e instanceof UsageError) return 2;
    if (e instanceof DamplError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

class UsageError extends Error {}

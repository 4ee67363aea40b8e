/**
 * `dampl data list | check | download`: the registered datasets, a check of a dataset tree
 * against the published sizes, and the verified download of the official archives.
 */
import type { Argv, CommandModule } from 'yargs';
import { DamplError } from '@dampl/runtime';
import {
  checkDataset,
  downloadDataset,
  formatCheckReport,
  formatDownloadReport,
  getDataset,
  listDatasets,
  mirrorFromEnv,
  type Dataset,
} from '@dampl/data';
import '@dampl/synth'; // registers the synthetic world beside the real datasets
import { loggerFor, type GlobalOptions } from './common.js';

/** Problems were found in a dataset tree; the report has been printed. */
class DataCheckFailed extends DamplError {}

interface ListArgs extends GlobalOptions {
  json: boolean;
}

interface CheckArgs extends GlobalOptions {
  dataset: string;
  root: string;
  sample?: number;
  seed: number;
  deep: boolean;
  hash: boolean;
  'allow-duplicates': boolean;
  json: boolean;
}

interface DownloadArgs extends GlobalOptions {
  dataset: string;
  root: string;
  'base-url'?: string;
  only?: string[];
  'keep-archives': boolean;
  force: boolean;
  retries: number;
}

const progressMode = (o: GlobalOptions): 'off' | undefined => (o.quiet ? 'off' : undefined);

function describeDataset(ds: Dataset): string {
  const lines = [
    `${ds.name}${ds.title ? `  (${ds.title})` : ''}${ds.aliases?.length ? `  aliases: ${ds.aliases.join(', ')}` : ''}`,
    `  domains  ${ds.domains.map((d) => (d.aliases.length ? `${d.name} (${d.aliases.join(', ')})` : d.name)).join(', ')}`,
    `  classes  ${ds.classes.length}`,
    `  tasks    ${ds.tasks.map((t) => t.name).join(' ')}`,
    `  protocol source ${ds.splits.trainSource} (labelled), target ${ds.splits.trainTarget} (unlabelled), evaluated on target ${ds.splits.testTarget}`,
    `  metric   ${ds.metric === 'mean-class' ? 'mean of the per-class accuracies (overall accuracy beside it)' : 'accuracy'}`,
    `  sizes    ${ds.expectedCounts ? ds.expectedCounts.source : 'no published counts recorded'}`,
    `  download ${!ds.download ? 'none' : ds.download.archives.some((a) => a.url) ? `${ds.download.archives.length} archive(s)${ds.download.manual?.length ? ' and manual steps' : ''}` : 'manual steps only'}`,
  ];
  return lines.join('\n');
}

const listCommand: CommandModule<GlobalOptions, ListArgs> = {
  command: 'list',
  describe: 'the registered datasets, their domains, tasks and metric',
  builder: (y) => y.option('json', { type: 'boolean', default: false, describe: 'print as JSON' }) as never,
  handler: (argv) => {
    const all = listDatasets();
    if (argv.json) {
      const plain = all.map(({ index: _index, ...rest }) => rest);
      process.stdout.write(JSON.stringify(plain, null, 2) + '\n');
      return;
    }
    process.stdout.write(all.map(describeDataset).join('\n\n') + '\n');
  },
};

const checkCommand: CommandModule<GlobalOptions, CheckArgs> = {
  command: 'check',
  describe: 'check a dataset tree: counts against the published sizes, missing files, unreadable images, duplicates, paths leaving the root',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('dataset', { type: 'string', demandOption: true, describe: 'dataset name (`dampl data list`)' })
      .option('root', { type: 'string', demandOption: true, describe: 'the dataset root folder' })
      .option('sample', { type: 'number', describe: 'read only this many images (drawn with --seed); default all' })
      .option('seed', { type: 'number', default: 0, describe: 'seed of the --sample draw' })
      .option('deep', { type: 'boolean', default: false, describe: 'decode every pixel instead of reading the headers (slower; finds truncated files)' })
      .option('hash', { type: 'boolean', default: true, describe: 'look for duplicate files (--no-hash to skip)' })
      .option('allow-duplicates', { type: 'boolean', default: false, describe: 'report duplicates without failing on them' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as never,
  handler: async (argv) => {
    const ds = getDataset(argv.dataset);
    const log = loggerFor(argv);
    const report = await checkDataset(ds, argv.root, {
      ...(argv.sample !== undefined ? { sample: argv.sample } : {}),
      seed: argv.seed,
      deep: argv.deep,
      hash: argv.hash,
      allowDuplicates: argv['allow-duplicates'],
      ...(progressMode(argv) ? { progress: progressMode(argv) } : {}),
      logger: log,
    });
    process.stdout.write((argv.json ? JSON.stringify(report, null, 2) : formatCheckReport(report)) + '\n');
    if (!report.ok) {
      throw new DataCheckFailed(
        `${report.problemCount} problem${report.problemCount === 1 ? '' : 's'} in ${report.title} at ${report.root}`,
        'see the report above; a re-download (`dampl data download`) replaces missing or damaged files',
      );
    }
  },
};

const downloadCommand: CommandModule<GlobalOptions, DownloadArgs> = {
  command: 'download <dataset>',
  describe: 'download, verify and extract the official archives (or print the steps to get them by hand)',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('dataset', { type: 'string', demandOption: true, describe: 'dataset name (`dampl data list`)' })
      .option('root', { type: 'string', demandOption: true, describe: 'the dataset root folder (created if needed)' })
      .option('base-url', { type: 'string', describe: 'a mirror serving each archive at <base-url>/<file> (default: $DAMPL_DATA_MIRROR, else the official links)' })
      .option('only', { type: 'string', array: true, describe: 'archive names to fetch (default all)' })
      .option('keep-archives', { type: 'boolean', default: false, describe: 'keep the archives in <root>/.downloads after extraction' })
      .option('force', { type: 'boolean', default: false, describe: 'fetch and extract even when the files are present' })
      .option('retries', { type: 'number', default: 5, describe: 'resumptions after a lost connection' }) as never,
  handler: async (argv) => {
    const ds = getDataset(argv.dataset);
    const log = loggerFor(argv);
    const baseUrl = argv['base-url'] ?? mirrorFromEnv();
    if (baseUrl) log.info(`mirror ${baseUrl}`);
    const report = await downloadDataset(ds, argv.root, {
      ...(baseUrl ? { baseUrl } : {}),
      ...(argv.only?.length ? { only: argv.only } : {}),
      keepArchives: argv['keep-archives'],
      force: argv.force,
      retries: argv.retries,
      ...(progressMode(argv) ? { progress: progressMode(argv) } : {}),
      logger: log,
    });
    process.stdout.write(formatDownloadReport(report) + '\n');
    if (!report.manual.length && !report.archives.some((a) => a.status === 'no-link')) {
      process.stdout.write(`\nnext: dampl data check --dataset ${ds.name} --root ${argv.root}\n`);
    }
  },
};

export const dataCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'data',
  describe: 'datasets: list them, check a tree, download the official archives',
  builder: (y) => y.command(listCommand).command(checkCommand).command(downloadCommand).demandCommand(1, 'name an action: list, check or download') as never,
  handler: () => {},
};

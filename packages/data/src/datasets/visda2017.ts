/**
 * VisDA-2017 classification (Peng et al., "VisDA: The Visual Domain Adaptation Challenge",
 * 2017; http://ai.bu.edu/visda-2017/): 12 classes, synthetic renderings (train/) to real
 * images (validation/). Each folder has an `image_list.txt` of lines `relative/path label`,
 * paths relative to that folder; the label column is the official category id.
 *
 * One task, "synthetic-real": all synthetic images labelled, all real images unlabelled for
 * training and for evaluation. The reported number is the mean of the 12 per-class accuracies
 * (the challenge's ranking metric); overall accuracy is reported beside it.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { FormatError } from '@dampl/runtime';
import { DatasetIndex } from '../dataset-index.js';
import { readImageList } from '../image-list.js';
import { missingPartError, requireRoot } from '../paths.js';
import { classWords } from '../tasks.js';
import { ALL, type DatasetItem, type DomainSpec, type IndexProblem } from '../types.js';
import type { Dataset } from '../dataset.js';

/** Category ids 0..11 of the official image lists. */
export const VISDA2017_CLASSES: readonly string[] = [
  'aeroplane', 'bicycle', 'bus', 'car', 'horse', 'knife', 'motorcycle', 'person', 'plant', 'skateboard', 'train', 'truck',
];

const domains: DomainSpec[] = [
  { name: 'synthetic', aliases: ['train', 'Synthetic', 'syn', 's'] },
  { name: 'real', aliases: ['validation', 'Real', 'r'] },
];

/** Folder of each domain under the root. */
const FOLDER: Record<string, string> = { synthetic: 'train', real: 'validation' };

const LAYOUT = [
  'train/image_list.txt        (lines "aeroplane/src_1_....png 0")',
  'train/<class>/*.png',
  'validation/image_list.txt   (lines "aeroplane/....jpg 0")',
  'validation/<class>/*.jpg',
].join('\n');

const BASE = 'http://csr.bu.edu/ftp/visda17/clf';

export const visda2017: Dataset = {
  name: 'visda-2017',
  aliases: ['visda2017', 'visda17', 'visda', 'visda-c'],
  title: 'VisDA-2017',
  domains,
  classes: [...VISDA2017_CLASSES],
  classNames: VISDA2017_CLASSES.map(classWords),
  tasks: [{ source: 'synthetic', target: 'real', name: 'synthetic-real' }],
  splits: { names: [ALL], trainSource: ALL, trainTarget: ALL, testTarget: ALL },
  metric: 'mean-class',
  layout: LAYOUT,
  async index(root, opts) {
    const ds = visda2017;
    const abs = await requireRoot(ds, root);
    const lists = domains.map((d) => ({ d, base: path.join(abs, FOLDER[d.name]!), file: path.join(abs, FOLDER[d.name]!, 'image_list.txt') }));
    const absent = [];
    for (const l of lists) if (!(await access(l.file).then(() => true, () => false))) absent.push(path.relative(abs, l.file));
    if (absent.length) throw missingPartError(ds, root, `missing under ${abs}: ${absent.join(', ')}`);

    const problems: IndexProblem[] = [];
    const report = (p: IndexProblem): void => {
      if (opts?.onProblem === 'collect') problems.push(p);
      else throw new FormatError(p.message, 'run `dampl data check` for a full report of the tree');
    };
    const items: DatasetItem[] = [];
    for (const l of lists) {
      items.push(...(await readImageList({
        file: l.file, root: abs, base: l.base, domain: l.d.name, split: ALL, classes: ds.classes,
        labelFrom: 'column', classComponent: 0, report,
      })));
    }
    return new DatasetIndex({
      dataset: ds.name, root: abs, classes: ds.classes, classNames: ds.classNames!, domains, tasks: ds.tasks,
      splits: ds.splits, metric: ds.metric, items, problems,
    });
  },
  expectedCounts: {
    source: 'Peng et al., VisDA: The Visual Domain Adaptation Challenge, 2017 (classification: 152,397 synthetic training, 55,388 real validation images)',
    counts: { synthetic: { [ALL]: 152397 }, real: { [ALL]: 55388 } },
  },
  download: {
    source: 'the challenge\'s instructions, https://github.com/VisionLearningGroup/taskcv-2017-public/tree/master/classification',
    archives: [
      { name: 'train', file: 'train.tar', url: `${BASE}/train.tar`, format: 'tar', provides: ['train/image_list.txt'] },
      { name: 'validation', file: 'validation.tar', url: `${BASE}/validation.tar`, format: 'tar', provides: ['validation/image_list.txt'] },
    ],
  },
};

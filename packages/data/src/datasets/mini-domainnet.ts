/**
 * mini-DomainNet (Zhou et al., "Domain Adaptive Ensemble Learning", 2021; the split files of
 * Dassl): DomainNet images (Peng et al., ICCV 2019, http://ai.bu.edu/M3SDA/) of 4 domains and
 * 126 classes, with `splits_mini/{domain}_{train,test}.txt`, lines `path label` where the path
 * is relative to the root, e.g. `clipart/aircraft_carrier/clipart_001_000018.jpg 0`.
 *
 * The label of a line is the class named by the path's second component (as Dassl's reader
 * takes the class name); the label column is only checked to be consistent.
 *
 * Protocol: train on source train (labelled) and target train (unlabelled); report accuracy on
 * target test. Tasks are named "c-p" etc.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { FormatError } from '@dampl/runtime';
import { DatasetIndex } from '../dataset-index.js';
import { LabelColumnCheck, readImageList } from '../image-list.js';
import { missingPartError, requireRoot } from '../paths.js';
import { classWords, crossDomainTasks } from '../tasks.js';
import type { DatasetItem, DomainSpec, IndexProblem } from '../types.js';
import type { Dataset } from '../dataset.js';

/**
 * The 126 classes, in the order of the label column of the split files as used by other
 * readers of Dassl's splits. The index does not depend on this order being the files': labels
 * come from the class names.
 */
export const MINI_DOMAINNET_CLASSES: readonly string[] = [
  'umbrella', 'television', 'potato', 'see_saw', 'zebra', 'dragon', 'chair', 'carrot', 'sea_turtle',
  'helicopter', 'teddy-bear', 'sheep', 'coffee_cup', 'grapes', 'helmet', 'dolphin', 'squirrel', 'drums',
  'guitar', 'basket', 'pillow', 'crocodile', 'mushroom', 'dog', 'table', 'anvil', 'peanut', 'fish',
  'bottlecap', 'mosquito', 'camera', 'elephant', 'ant', 'bathtub', 'butterfly', 'dumbbell', 'asparagus',
  'streetlight', 'cat', 'purse', 'penguin', 'calculator', 'crab', 'duck', 'string_bean', 'giraffe', 'lion',
  'ceiling_fan', 'The_Great_Wall_of_China', 'fence', 'alarm_clock', 'monkey', 'goatee', 'pencil',
  'speedboat', 'truck', 'mug', 'screwdriver', 'train', 'pear', 'hammer', 'castle', 'flower', 'skateboard',
  'feather', 'raccoon', 'cactus', 'panda', 'lipstick', 'The_Eiffel_Tower', 'aircraft_carrier', 'bee',
  'rabbit', 'eyeglasses', 'kangaroo', 'bus', 'banana', 'horse', 'shoe', 'saxophone', 'cannon', 'onion',
  'submarine', 'computer', 'flamingo', 'cruise_ship', 'lantern', 'blueberry', 'strawberry', 'canoe',
  'spider', 'compass', 'foot', 'broccoli', 'axe', 'bird', 'blackberry', 'laptop', 'bear', 'candle',
  'pineapple', 'peas', 'rifle', 'fork', 'mouse', 'toe', 'watermelon', 'power_outlet', 'cake', 'chandelier',
  'cow', 'vase', 'snake', 'frog', 'whale', 'microphone', 'tiger', 'cell_phone', 'camel', 'leaf', 'pig',
  'rhinoceros', 'swan', 'lobster', 'teapot', 'cello',
];

const domains: DomainSpec[] = [
  { name: 'clipart', aliases: ['c', 'Clipart'] },
  { name: 'painting', aliases: ['p', 'Painting'] },
  { name: 'real', aliases: ['r', 'Real'] },
  { name: 'sketch', aliases: ['s', 'Sketch'] },
];

const SPLITS = ['train', 'test'];
const BASE = 'http://csr.bu.edu/ftp/visda/2019/multi-source';

const LAYOUT = [
  'clipart/<class>/*.jpg   painting/...   real/...   sketch/...   (DomainNet, cleaned version)',
  'splits_mini/clipart_train.txt, clipart_test.txt, ... sketch_test.txt   (lines "clipart/<class>/<file>.jpg <label>")',
].join('\n');

export const miniDomainNet: Dataset = {
  name: 'mini-domainnet',
  aliases: ['minidomainnet', 'mini_domainnet', 'miniDomainNet'],
  title: 'mini-DomainNet',
  domains,
  classes: [...MINI_DOMAINNET_CLASSES],
  classNames: MINI_DOMAINNET_CLASSES.map(classWords),
  tasks: crossDomainTasks(domains, (d) => d.name[0]!),
  splits: { names: SPLITS, trainSource: 'train', trainTarget: 'train', testTarget: 'test' },
  metric: 'accuracy',
  layout: LAYOUT,
  async index(root, opts) {
    const ds = miniDomainNet;
    const abs = await requireRoot(ds, root);
    const lists = domains.flatMap((d) => SPLITS.map((split) => ({ d, split, file: path.join(abs, 'splits_mini', `${d.name}_${split}.txt`) })));
    const absent = [];
    for (const l of lists) if (!(await exists(l.file))) absent.push(path.relative(abs, l.file));
    for (const d of domains) if (!(await exists(path.join(abs, d.name)))) absent.push(`${d.name}/`);
    if (absent.length) throw missingPartError(ds, root, `missing under ${abs}: ${absent.join(', ')}`);

    const problems: IndexProblem[] = [];
    const report = (p: IndexProblem): void => {
      if (opts?.onProblem === 'collect') problems.push(p);
      else throw new FormatError(p.message, 'run `dampl data check` for a full report of the tree');
    };
    const columnCheck = new LabelColumnCheck();
    const items: DatasetItem[] = [];
    for (const l of lists) {
      items.push(...(await readImageList({
        file: l.file, root: abs, base: abs, domain: l.d.name, split: l.split, classes: ds.classes,
        labelFrom: 'path', classComponent: 1, report, columnCheck,
      })));
    }
    const notes = columnCheck.differing
      ? [`${columnCheck.differing} list lines number their class differently from this package's class order; labels follow the class folder names`]
      : [];
    return new DatasetIndex({
      dataset: ds.name, root: abs, classes: ds.classes, classNames: ds.classNames!, domains, tasks: ds.tasks,
      splits: ds.splits, metric: ds.metric, items, problems, notes,
    });
  },
  // Per-domain train/test sizes are not given by Dassl or the DAEL paper in a form verified here;
  // the checker reports the counts without a reference.
  expectedCounts: undefined,
  download: {
    source: `DomainNet per-domain archives from ${BASE}/ (clipart and painting in their cleaned versions under groundtruth/, as TLlib's domainnet.py uses them); splits_mini from Dassl's DATASETS.md`,
    archives: [
      { name: 'clipart', file: 'clipart.zip', url: `${BASE}/groundtruth/clipart.zip`, format: 'zip', provides: ['clipart'] },
      { name: 'painting', file: 'painting.zip', url: `${BASE}/groundtruth/painting.zip`, format: 'zip', provides: ['painting'] },
      { name: 'real', file: 'real.zip', url: `${BASE}/real.zip`, format: 'zip', provides: ['real'] },
      { name: 'sketch', file: 'sketch.zip', url: `${BASE}/sketch.zip`, format: 'zip', provides: ['sketch'] },
    ],
    manual: [
      {
        what: "mini-DomainNet's split files (splits_mini/)",
        provides: ['splits_mini'],
        steps: [
          "Dassl's DATASETS.md (https://github.com/KaiyangZhou/Dassl.pytorch/blob/master/DATASETS.md#miniDomainNet) links them on Google Drive: https://drive.google.com/open?id=15rrLDCrzyi6ZY-1vJar3u7plgLe4COL7",
          'download the zip there and extract it in the dataset root, so that <root>/splits_mini/clipart_train.txt exists',
        ],
      },
    ],
  },
};

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

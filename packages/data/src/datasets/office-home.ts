/**
 * Office-Home (Venkateswara et al., "Deep Hashing Network for Unsupervised Domain Adaptation",
 * CVPR 2017; http://hemanthdv.org/OfficeHome-Dataset/): 4 domains, 65 classes, 15,588 images.
 *
 * Layout `root/<Domain>/<Class>/*.jpg`. Both published namings of the domain folders are
 * accepted: Art, Clipart, Product, Real_World (TLlib) and art, clipart, product, real_world
 * (Dassl), and "Real World" as in the official archive. Class folders match ignoring case.
 *
 * Protocol: every source image is labelled training data; every target image is used, without
 * its label, for training, and is the evaluation set. Tasks are named "A-C" etc.
 */
import { imageFolderIndex } from '../image-folder.js';
import { codeUnitCompare, crossDomainTasks } from '../tasks.js';
import { ALL, type DomainSpec } from '../types.js';
import type { Dataset } from '../dataset.js';

/** The 65 class folders as published, in the order of their sorted folder names. */
export const OFFICE_HOME_CLASSES: readonly string[] = [
  'Alarm_Clock', 'Backpack', 'Batteries', 'Bed', 'Bike', 'Bottle', 'Bucket', 'Calculator', 'Calendar',
  'Candles', 'Chair', 'Clipboards', 'Computer', 'Couch', 'Curtains', 'Desk_Lamp', 'Drill', 'Eraser',
  'Exit_Sign', 'Fan', 'File_Cabinet', 'Flipflops', 'Flowers', 'Folder', 'Fork', 'Glasses', 'Hammer',
  'Helmet', 'Kettle', 'Keyboard', 'Knives', 'Lamp_Shade', 'Laptop', 'Marker', 'Monitor', 'Mop', 'Mouse',
  'Mug', 'Notebook', 'Oven', 'Pan', 'Paper_Clip', 'Pen', 'Pencil', 'Postit_Notes', 'Printer', 'Push_Pin',
  'Radio', 'Refrigerator', 'Ruler', 'Scissors', 'Screwdriver', 'Shelf', 'Sink', 'Sneakers', 'Soda',
  'Speaker', 'Spoon', 'TV', 'Table', 'Telephone', 'ToothBrush', 'Toys', 'Trash_Can', 'Webcam',
].sort(codeUnitCompare);

/** Prompt words: the folder name in lower case with spaces ("Alarm_Clock" -> "alarm clock"). */
export const OFFICE_HOME_CLASS_NAMES: readonly string[] = OFFICE_HOME_CLASSES.map((c) => c.replace(/_/g, ' ').toLowerCase());

const domains: DomainSpec[] = [
  { name: 'Art', aliases: ['art', 'Ar', 'A'] },
  { name: 'Clipart', aliases: ['clipart', 'Cl', 'C'] },
  { name: 'Product', aliases: ['product', 'Pr', 'P'] },
  { name: 'Real_World', aliases: ['real_world', 'Real World', 'RealWorld', 'Rw', 'R'] },
];

const LAYOUT = [
  'Art/Alarm_Clock/00001.jpg ...      (or art/...)',
  'Clipart/<class>/*.jpg             (or clipart/...)',
  'Product/<class>/*.jpg             (or product/...)',
  'Real_World/<class>/*.jpg          (or real_world/... or "Real World"/...)',
].join('\n');

export const officeHome: Dataset = {
  name: 'office-home',
  aliases: ['officehome', 'office_home', 'OfficeHome'],
  title: 'Office-Home',
  domains,
  classes: [...OFFICE_HOME_CLASSES],
  classNames: [...OFFICE_HOME_CLASS_NAMES],
  tasks: crossDomainTasks(domains, (d) => d.name[0]!),
  splits: { names: [ALL], trainSource: ALL, trainTarget: ALL, testTarget: ALL },
  metric: 'accuracy',
  layout: LAYOUT,
  index(root, opts) {
    return imageFolderIndex(root, { ...officeHome, onProblem: opts?.onProblem });
  },
  expectedCounts: {
    source: 'Venkateswara et al., CVPR 2017 (Office-Home dataset page)',
    counts: { Art: { [ALL]: 2427 }, Clipart: { [ALL]: 4365 }, Product: { [ALL]: 4439 }, Real_World: { [ALL]: 4357 } },
  },
  download: {
    source: 'http://hemanthdv.org/OfficeHome-Dataset/ (the official archive is on Google Drive, behind a form)',
    archives: [],
    manual: [
      {
        what: 'the Office-Home images',
        provides: ['Art', 'Clipart', 'Product', 'Real_World'],
        steps: [
          'open http://hemanthdv.org/OfficeHome-Dataset/ and download OfficeHomeDataset_10072016.zip (Google Drive link on the page)',
          'unzip it; it holds the folders Art, Clipart, Product and "Real World"',
          'move those four folders into the dataset root (rename "Real World" to Real_World, or keep it: both are accepted)',
          'check the result with `dampl data check --dataset office-home --root <root>`',
        ],
      },
    ],
  },
};

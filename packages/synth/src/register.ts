/**
 * The `synth` dataset: the generated world's `adapt/` split in the image-folder layout, with
 * 4 domains, 12 classes and the 12 cross-domain tasks ("ph-cl", ...). Registered on import.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ALL, crossDomainTasks, imageFolderIndex, registerDataset, type Dataset, type DomainSpec } from '@dampl/data';
import { synthDomainsAndClasses } from './world.js';

const SHORT: Record<string, string> = { photo: 'ph', clipart: 'cl', sketch: 'sk', painting: 'pa' };

const { domains: synthDomains, classes, classNames } = synthDomainsAndClasses();

const domains: DomainSpec[] = synthDomains.map((d) => ({
  name: d.name,
  aliases: [...new Set([d.folder, d.name[0]!.toUpperCase() + d.name.slice(1), SHORT[d.name]!])].filter((a) => a !== d.name),
}));

const LAYOUT = [
  'adapt/photo/<class>/*.png   adapt/clipart/...   adapt/sketch/...   adapt/painting/...',
  '(the root may be the world folder or its adapt/ folder; make it with generateSynthWorld from @dampl/synth)',
].join('\n');

const synthDataset: Dataset = {
  name: 'synth',
  aliases: ['synthetic', 'synth-world'],
  title: 'Synthetic world',
  domains,
  classes,
  classNames,
  tasks: crossDomainTasks(domains, (d) => SHORT[d.name]!),
  splits: { names: [ALL], trainSource: ALL, trainTarget: ALL, testTarget: ALL },
  metric: 'accuracy',
  layout: LAYOUT,
  index(root, opts) {
    const adapt = path.join(root, 'adapt');
    return imageFolderIndex(existsSync(adapt) ? adapt : root, { ...synthDataset, onProblem: opts?.onProblem });
  },
};

registerDataset(synthDataset);

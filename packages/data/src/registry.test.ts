import { describe, expect, it } from 'vitest';
import { ConfigError } from '@dampl/runtime';
import { imageFolderIndex } from './image-folder.js';
import { getDataset, listDatasets, registerDataset, validateDataset } from './registry.js';
import { crossDomainTasks, findTask } from './tasks.js';
import type { Dataset } from './dataset.js';

function toy(name: string): Dataset {
  const domains = [{ name: 'day', aliases: ['d'] }, { name: 'night', aliases: ['n'] }];
  const ds: Dataset = {
    name,
    domains,
    classes: ['cat', 'dog'],
    tasks: crossDomainTasks(domains, (d) => d.name),
    splits: { names: ['all'], trainSource: 'all', trainTarget: 'all', testTarget: 'all' },
    metric: 'accuracy',
    index: (root, opts) => imageFolderIndex(root, { ...ds, onProblem: opts?.onProblem }),
  };
  return ds;
}

describe('registry', () => {
  it('holds the built-in datasets with 12, 12 and 1 tasks', () => {
    const names = listDatasets().map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['office-home', 'mini-domainnet', 'visda-2017']));
    expect(getDataset('office-home').tasks).toHaveLength(12);
    expect(getDataset('mini-domainnet').tasks).toHaveLength(12);
    expect(getDataset('visda-2017').tasks).toHaveLength(1);
  });

  it('finds a dataset by alias in any case', () => {
    expect(getDataset('OfficeHome').name).toBe('office-home');
    expect(getDataset('visda17').name).toBe('visda-2017');
    expect(getDataset(' miniDomainNet ').name).toBe('mini-domainnet');
  });

  it('lists the registered datasets for an unknown name', () => {
    const err = (() => {
      try {
        getDataset('office-31');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toContain('unknown dataset "office-31"');
    expect(err!.message).toMatch(/registered datasets: .*office-home.*mini-domainnet.*visda-2017/);
  });

  it('registers a new dataset without changes elsewhere; the same object twice is fine, a taken name is not', () => {
    const ds = toy('toy-registry');
    registerDataset(ds);
    registerDataset(ds);
    expect(getDataset('toy-registry')).toBe(ds);
    expect(() => registerDataset(toy('toy-registry'))).toThrow(ConfigError);
    expect(() => registerDataset({ ...toy('other'), aliases: ['officehome'] })).toThrow(/already taken by office-home/);
  });

  it('validates tasks and splits against the domains', () => {
    expect(() => validateDataset({ ...toy('bad'), tasks: [{ source: 'day', target: 'dusk', name: 'x' }] })).toThrow(/task x names a domain/);
    expect(() => validateDataset({ ...toy('bad'), splits: { names: ['train'], trainSource: 'train', trainTarget: 'val', testTarget: 'train' } })).toThrow(/splits.trainTarget/);
    expect(() => validateDataset({ ...toy('bad'), classNames: ['cat'] })).toThrow(/1 class names for 2 classes/);
  });

  it('finds a task by table key or by domain spellings', () => {
    const oh = getDataset('office-home');
    for (const name of ['A-C', 'a-c', 'Art->Clipart', 'art→clipart', 'Ar-Cl']) expect(findTask(oh, name).name).toBe('A-C');
    expect(findTask(oh, 'Real World->Product').name).toBe('R-P');
    expect(() => findTask(oh, 'A-A')).toThrow(/use one of: A-C, A-P/);
    expect(findTask(getDataset('visda-2017'), 'train->validation').name).toBe('synthetic-real');
  });
});

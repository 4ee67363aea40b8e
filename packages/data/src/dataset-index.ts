/**
 * What a dataset's `index(root)` returns: every image with its label, domain and split, and the
 * selections the unsupervised domain adaptation protocol uses for a task.
 */
import { ConfigError } from '@dampl/runtime';
import { findTask } from './tasks.js';
import { ALL, type DatasetItem, type DomainSpec, type IndexProblem, type MetricName, type SplitProtocol, type Task } from './types.js';

export interface DatasetIndexInit {
  dataset: string;
  root: string;
  classes: string[];
  classNames: string[];
  domains: DomainSpec[];
  tasks: Task[];
  splits: SplitProtocol;
  metric: MetricName;
  items: DatasetItem[];
  problems?: IndexProblem[];
  notes?: string[];
}

export class DatasetIndex {
  readonly dataset: string;
  /** Absolute dataset root. */
  readonly root: string;
  readonly classes: readonly string[];
  /** Display names for prompts, parallel to `classes`. */
  readonly classNames: readonly string[];
  /** Canonical domain names, in the dataset's order. */
  readonly domains: readonly string[];
  readonly domainSpecs: readonly DomainSpec[];
  readonly tasks: readonly Task[];
  readonly splits: SplitProtocol;
  readonly metric: MetricName;
  readonly items: readonly DatasetItem[];
  /** Problems met while indexing with `onProblem: 'collect'` (empty otherwise). */
  readonly problems: readonly IndexProblem[];
  /** Findings worth telling that are not errors (e.g. a label column numbered differently). */
  readonly notes: readonly string[];

  constructor(init: DatasetIndexInit) {
    this.dataset = init.dataset;
    this.root = init.root;
    this.classes = init.classes;
    this.classNames = init.classNames;
    this.domainSpecs = init.domains;
    this.domains = init.domains.map((d) => d.name);
    this.tasks = init.tasks;
    this.splits = init.splits;
    this.metric = init.metric;
    this.items = init.items;
    this.problems = init.problems ?? [];
    this.notes = init.notes ?? [];
  }

  get numClasses(): number {
    return this.classes.length;
  }

  /** The task named `t` (any spelling findTask accepts), or `t` itself checked against this dataset. */
  task(t: Task | string): Task {
    if (typeof t === 'string') return findTask({ name: this.dataset, domains: [...this.domainSpecs], tasks: [...this.tasks] }, t);
    if (!this.domains.includes(t.source) || !this.domains.includes(t.target)) {
      throw new ConfigError(`task ${t.name} names a domain ${this.dataset} does not have`, `domains: ${this.domains.join(', ')}`);
    }
    return t;
  }

  /** Items of `domain` in `split` (ALL: every split). */
  select(domain: string, split: string = ALL): DatasetItem[] {
    return this.items.filter((it) => it.domain === domain && (split === ALL || it.split === split));
  }

  /** Labelled source images for training. */
  trainSource(task: Task | string): DatasetItem[] {
    return this.select(this.task(task).source, this.splits.trainSource);
  }

  /**
   * Target images for training. They carry their labels only so that pseudo-label quality can
   * be measured; a method must not train on them.
   */
  trainTarget(task: Task | string): DatasetItem[] {
    return this.select(this.task(task).target, this.splits.trainTarget);
  }

  /** Target images on which the task's accuracy is reported. */
  testTarget(task: Task | string): DatasetItem[] {
    return this.select(this.task(task).target, this.splits.testTarget);
  }

  /** Number of items per domain and split, in domain order. */
  counts(): { domain: string; split: string; count: number }[] {
    const out: { domain: string; split: string; count: number }[] = [];
    for (const domain of this.domains) {
      const bySplit = new Map<string, number>();
      for (const it of this.items) if (it.domain === domain) bySplit.set(it.split, (bySplit.get(it.split) ?? 0) + 1);
      const splits = [...this.splits.names, ...[...bySplit.keys()].filter((s) => !this.splits.names.includes(s))];
      for (const split of splits) out.push({ domain, split, count: bySplit.get(split) ?? 0 });
    }
    return out;
  }

  /** Items per class for a domain (and split). */
  classCounts(domain: string, split: string = ALL): number[] {
    const c = new Array<number>(this.classes.length).fill(0);
    for (const it of this.select(domain, split)) c[it.label]!++;
    return c;
  }
}

/**
 * The dataset contract. A dataset is a plain object registered by name (see registry.ts); the
 * bench, the feature cache and the trainers only see this contract and the DatasetIndex it
 * builds, so a new dataset needs no change anywhere else.
 */
import type { DatasetIndex } from './dataset-index.js';
import type { DomainSpec, DownloadSpec, ExpectedCounts, MetricName, SplitProtocol, Task } from './types.js';

export interface IndexOptions {
  /**
   * 'throw' (default): the first problem is a FormatError naming the file and line.
   * 'collect': problems are gathered in `DatasetIndex.problems` and bad entries left out.
   */
  onProblem?: 'throw' | 'collect';
}

export interface Dataset {
  /** Registry key, lower case with dashes ("office-home"). */
  name: string;
  /** Other accepted names ("officehome", "office_home"). */
  aliases?: string[];
  /** Human name for reports ("Office-Home"). */
  title?: string;
  domains: DomainSpec[];
  /** Class identifiers as on disk (folder names); labels index into this list. */
  classes: string[];
  /** Display names for prompts, parallel to `classes`; defaults to the identifiers with '_' as spaces. */
  classNames?: string[];
  tasks: Task[];
  splits: SplitProtocol;
  /** The number reported for this dataset: overall accuracy or the mean of per-class accuracies. */
  metric: MetricName;
  /** The layout expected under the root, shown when the root or a part of it is missing. */
  layout?: string;
  index(root: string, opts?: IndexOptions): Promise<DatasetIndex>;
  expectedCounts?: ExpectedCounts;
  download?: DownloadSpec;
}

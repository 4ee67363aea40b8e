/**
 * The data a dataset is made of: domains, tasks, split protocol, items, download steps and the
 * problems indexing can meet. The contract that ties them together is `Dataset` (dataset.ts).
 */

/** The split name used by datasets without train/test splits: every image of a domain. */
export const ALL = 'all';

export type MetricName = 'accuracy' | 'mean-class';

export interface DomainSpec {
  /** Canonical name, used in task definitions and reports ("Art", "clipart"). */
  name: string;
  /**
   * Other spellings accepted on the command line and as folder names on disk
   * ("art", "Ar", "A" for Office-Home's Art).
   */
  aliases: string[];
}

export interface Task {
  /** Canonical source domain name. */
  source: string;
  /** Canonical target domain name. */
  target: string;
  /** Key of the published-number tables ("A-C", "c-p", "synthetic-real"). */
  name: string;
}

/**
 * Which split of which domain each role of the unsupervised domain adaptation protocol uses.
 * `all` (the constant ALL) means every image of the domain.
 */
export interface SplitProtocol {
  /** Split names the dataset's items carry. */
  names: string[];
  /** Labelled source images for training. */
  trainSource: string;
  /** Target images used for training without their labels. */
  trainTarget: string;
  /** Target images on which accuracy is reported. */
  testTarget: string;
}

/** Published image counts, the reference of `dampl data check`. */
export interface ExpectedCounts {
  /** Where the numbers are published. */
  source: string;
  /** Images per domain and split; an absent entry means no published number is known. */
  counts: Record<string, Partial<Record<string, number>>>;
}

/** One archive of a dataset's download. */
export interface ArchiveSpec {
  /** Short identifier, accepted by `--only` ("clipart", "train"). */
  name: string;
  /** File name of the archive; a mirror serves it at `<baseUrl>/<file>`. */
  file: string;
  /** Official direct link; undefined when there is none. */
  url?: string;
  format: 'tar' | 'tar.gz' | 'zip';
  /** Size in bytes from a published source; undefined when not published. */
  size?: number;
  /** Hex sha256 from a published source; undefined when not published (never guessed). */
  sha256?: string;
  /** Folder under the dataset root to extract into; '' or undefined: the root itself. */
  into?: string;
  /** Paths under the root that exist once the archive is extracted (used to skip it). */
  provides: string[];
}

/** Something the user has to fetch by hand (no direct link, or a click-through licence). */
export interface ManualStep {
  what: string;
  /** Paths under the root that exist once the step is done. */
  provides: string[];
  steps: string[];
}

export interface DownloadSpec {
  archives: ArchiveSpec[];
  manual?: ManualStep[];
  /** Where the links come from. */
  source: string;
}

export interface DatasetItem {
  /** Absolute path of the image. */
  path: string;
  /** Class index into the dataset's `classes`. */
  label: number;
  /** Canonical domain name. */
  domain: string;
  split: string;
  /** The list file and 1-based line this item comes from, for list-based datasets. */
  listed?: { file: string; line: number };
}

export type IndexProblemKind =
  | 'escapes-root'
  | 'malformed-line'
  | 'unknown-class'
  | 'label-mismatch'
  | 'bad-label';

/** Something wrong found while building an index (reported by the checker, or thrown). */
export interface IndexProblem {
  kind: IndexProblemKind;
  message: string;
  /** The offending path as written (list line or folder entry). */
  path?: string;
  /** List file and 1-based line. */
  file?: string;
  line?: number;
}

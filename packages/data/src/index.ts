/**
 * @dampl/data: the real datasets (Office-Home, mini-DomainNet, VisDA-2017) and the registry that
 * others (the synthetic world of @dampl/synth, a user's package) add to, their tasks and protocols,
 * metrics, the tree checker and the verified downloader.
 */
export {
  ALL,
  type ArchiveSpec, type DatasetItem, type DomainSpec, type DownloadSpec, type ExpectedCounts,
  type IndexProblem, type IndexProblemKind, type ManualStep, type MetricName, type SplitProtocol, type Task,
} from './types.js';
export type { Dataset, IndexOptions } from './dataset.js';
export { DatasetIndex, type DatasetIndexInit } from './dataset-index.js';
export { registerDataset, getDataset, listDatasets } from './registry.js';
export { crossDomainTasks, findDomain, findTask } from './tasks.js';
export { imageFolderIndex, type ImageFolderOptions } from './image-folder.js';
export { type ImageListOptions } from './image-list.js';
export { officeHome, OFFICE_HOME_CLASSES } from './datasets/office-home.js';
export { miniDomainNet, MINI_DOMAINNET_CLASSES } from './datasets/mini-domainnet.js';
export {
  evaluate, type ClassIndices, type ClassAccuracy, type EvaluationReport,
} from './metrics.js';
export {
  checkDataset, formatCheckReport, type CheckOptions, type CheckReport, type CountRow, type DuplicateGroup,
  type FileRef,
} from './check.js';
export {
  downloadDataset, formatDownloadReport, mirrorFromEnv,
  type DownloadOptions, type DownloadReport, type ArchiveOutcome,
} from './download/download.js';
export { type FetchOptions, type FetchResult } from './download/fetch-resumable.js';
export {
  type ArchiveEntry, type ArchiveFormat, type ExtractOptions, type ExtractResult,
} from './download/extract.js';

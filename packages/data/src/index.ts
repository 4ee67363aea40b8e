/**
 * @dampl/data: the real datasets (Office-Home, mini-DomainNet, VisDA-2017) and the registry that
 * others (the synthetic world of @dampl/synth, a user's package) add to, their tasks and protocols,
 * metrics, the tree checker and the verified downloader.
 */
export {
  ALL,
  type ArchiveSpec, type Dataset, type DatasetItem, type DomainSpec, type DownloadSpec, type ExpectedCounts,
  type IndexOptions, type IndexProblem, type IndexProblemKind, type ManualStep, type MetricName, type SplitProtocol, type Task,
} from './types.js';
export { DatasetIndex, type DatasetIndexInit } from './dataset-index.js';
export { registerDataset, getDataset, listDatasets, validateDataset } from './registry.js';
export { crossDomainTasks, findDomain, lookupDomain, findTask, classWords, codeUnitCompare } from './tasks.js';
export { imageFolderIndex, IMAGE_EXTENSIONS, type ImageFolderOptions } from './image-folder.js';
export { readImageList, LabelColumnCheck, type ImageListOptions } from './image-list.js';
export { isInside, resolveInside, requireRoot } from './paths.js';
export { officeHome, OFFICE_HOME_CLASSES, OFFICE_HOME_CLASS_NAMES } from './datasets/office-home.js';
export { miniDomainNet, MINI_DOMAINNET_CLASSES } from './datasets/mini-domainnet.js';
export { visda2017, VISDA2017_CLASSES } from './datasets/visda2017.js';
export {
  accuracy, confusionMatrix, perClassAccuracy, meanClassAccuracy, evaluate, formatPerClassTable,
  type ClassIndices, type ClassAccuracy, type EvaluationReport,
} from './metrics.js';
export {
  checkDataset, formatCheckReport, sha256File,
  type CheckOptions, type CheckReport, type CountRow, type DuplicateGroup, type FileRef,
} from './check.js';
export {
  downloadDataset, formatDownloadReport, mirrorFromEnv,
  type DownloadOptions, type DownloadReport, type ArchiveOutcome,
} from './download/download.js';
export { fetchResumable, ChecksumError, type FetchOptions, type FetchResult } from './download/fetch-resumable.js';
export {
  extractArchive, scanArchive, entryViolation, UnsafeArchiveError,
  type ArchiveEntry, type ArchiveFormat, type ExtractOptions, type ExtractResult,
} from './download/extract.js';

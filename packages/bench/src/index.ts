/**
 * @dampl/bench: the `dampl` command line and what it runs: method-package discovery, the
 * benchmark grid (cells, shards, worker processes, SLURM arrays), the run records and the tables
 * written from them beside the published numbers, charts, the performance suites and the
 * method-package generator. The exports are the types of what the commands report.
 */
export { type DoctorReport } from './commands/doctor.js';
export { type RunOptions, type SuiteReport, type CellOutcome } from './runner.js';
export { type MergeReport } from './merge.js';
export { type WorkerPlan } from './jobs.js';
export { type PerfOptions } from './perf.js';
export { type Cell, type Shard, type MethodSpec } from './grid.js';
export { type RunRecord, type Provenance } from './records.js';
export { type ResultRow } from './results.js';
export { type Summary, type DatasetTable, type Stat } from './summary.js';
export { type AnchorRow, type AnchorTable } from './anchors.js';
export { type Suite, type SuiteDataset, type SkippedDataset } from './suites.js';

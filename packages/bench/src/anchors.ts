/**
 * Published accuracies to print beside this project's results: the figures of anchors.json
 * (copied from the project's reference file, each row naming where it was published), the
 * dataset and method names that connect them to ours, and the backbone a CLIP model is.
 *
 * A published row is compared with one of our methods only when the backbone is the same;
 * rows with another or an unspecified backbone are listed apart, without a difference.
 */
import { readFileSync } from 'node:fs';
import type { ClipConfig } from '@dampl/clip';
import { baseMethodName } from './grid.js';

/** One published row: accuracies in percent, per dataset and optionally per task. */
export interface AnchorRow {
  method: string;
  backbone: string;
  source: string;
  /** Dataset key (see ANCHOR_DATASET_KEYS) -> the dataset's published figure. */
  figures: Record<string, number>;
  /** Dataset key -> task name -> figure. */
  tasks: Record<string, Record<string, number>>;
  /** Dataset key -> the published std over seeds, where given (`<key>_std`). */
  std: Record<string, number>;
  /** How the source chose the epoch it reports, in its words ('best epoch on the target test set ...', 'not stated'). */
  selection: string;
  /** Which selection that is: 'best' (an oracle on the target test set), 'last', or 'unknown'. */
  selectionKind: SelectionKind;
  /** Seeds as the source states them, where it does. */
  seeds?: string;
  note?: string;
}

export type SelectionKind = 'best' | 'last' | 'unknown';

/** Reads the kind of epoch selection from a source's description of it. */
function selectionKind(text: string): SelectionKind {
  if (/\bbest\b/i.test(text)) return 'best';
  if (/\blast\b|\bfinal\b/i.test(text)) return 'last';
  return 'unknown';
}

export interface AnchorTable {
  about: string;
  rows: AnchorRow[];
}

/** Our dataset names -> the keys of anchors.json. */
export const ANCHOR_DATASET_KEYS: Readonly<Record<string, string>> = {
  'office-home': 'officehome',
  'mini-domainnet': 'minidomainnet',
  'visda-2017': 'visda17',
};

/**
 * Our method names -> the published method names they reproduce. A method registered under
 * another name has no published counterpart (it is still listed, with no difference).
 */
const PUBLISHED_NAMES: Readonly<Record<string, readonly string[]>> = {
  'zero-shot': ['CLIP zero-shot'],
  dapl: ['DAPL', 'DAPL (rerun)'],
  dampl: ['DAMPL'],
  dann: ['DANN'],
  dan: ['DAN (MK-MMD)'],
  cdan: ['CDAN'],
  mcc: ['MCC'],
  coop: ['CoOp (source prompts)'],
  'source-only': ['Source only (ERM)'],
  'linear-probe': ['Source only (ERM)'],
};

/** The published names our method `name` (or `name@config`) is compared with. */
export function publishedNamesFor(method: string): readonly string[] {
  return PUBLISHED_NAMES[baseMethodName(method)] ?? [];
}

interface RawAnchors {
  about: string;
  rows: ({ method: string; backbone: string; source: string; selection?: string; seeds?: string; note?: string } & Record<string, unknown>)[];
}

/**
 * Parses the anchors.json layout: numeric fields are dataset figures, `<key>_std` their std over
 * seeds, `<key>_tasks` objects per-task figures; `selection`, `seeds` and `note` are the source's words.
 */
export function parseAnchors(raw: RawAnchors): AnchorTable {
  return {
    about: raw.about,
    rows: raw.rows.map(({ method, backbone, source, selection, seeds, note, ...rest }) => {
      const figures: Record<string, number> = {};
      const tasks: Record<string, Record<string, number>> = {};
      const std: Record<string, number> = {};
      for (const [k, v] of Object.entries(rest)) {
        if (typeof v === 'number' && k.endsWith('_std')) std[k.slice(0, -'_std'.length)] = v;
        else if (typeof v === 'number') figures[k] = v;
        else if (k.endsWith('_tasks') && v && typeof v === 'object') tasks[k.slice(0, -'_tasks'.length)] = v as Record<string, number>;
      }
      const sel = selection ?? 'not stated';
      return {
        method, backbone, source, figures, tasks, std, selection: sel, selectionKind: selectionKind(sel),
        ...(seeds !== undefined ? { seeds: String(seeds) } : {}), ...(note !== undefined ? { note } : {}),
      };
    }),
  };
}

let cached: AnchorTable | undefined;

/** The published figures shipped with the bench (src/anchors.json). */
export function loadAnchors(): AnchorTable {
  cached ??= parseAnchors(JSON.parse(readFileSync(new URL('./anchors.json', import.meta.url), 'utf8')) as RawAnchors);
  return cached;
}

/** Published rows for a dataset of ours: `matched` have `backbone`, `other` do not. */
export function anchorsFor(table: AnchorTable, dataset: string, backbone: string | undefined): { matched: AnchorRow[]; other: AnchorRow[] } {
  const key = ANCHOR_DATASET_KEYS[dataset];
  if (!key) return { matched: [], other: [] };
  const rows = table.rows.filter((r) => r.figures[key] !== undefined || r.tasks[key] !== undefined);
  return {
    matched: rows.filter((r) => backbone !== undefined && r.backbone === backbone),
    other: rows.filter((r) => backbone === undefined || r.backbone !== backbone),
  };
}

/** Hub ids of the released CLIPs -> the backbone name used in papers. */
const HUB_BACKBONES: Readonly<Record<string, string>> = {
  'openai/clip-vit-base-patch16': 'ViT-B/16',
  'openai/clip-vit-base-patch32': 'ViT-B/32',
  'openai/clip-vit-large-patch14': 'ViT-L/14',
  'openai/clip-vit-large-patch14-336': 'ViT-L/14@336px',
};

/**
 * The paper name of a CLIP backbone: from the hub id when it is a released one, else from the
 * architecture (a local copy of a released model); undefined for any other model.
 */
export function backboneName(model: string, config?: ClipConfig): string | undefined {
  if (HUB_BACKBONES[model]) return HUB_BACKBONES[model];
  if (!config) return undefined;
  const v = config.vision;
  if (v.kind === 'vit' && v.width === 768 && v.layers === 12 && config.embedDim === 512 && v.imageSize === 224) {
    return v.patchSize === 16 ? 'ViT-B/16' : v.patchSize === 32 ? 'ViT-B/32' : undefined;
  }
  if (v.kind === 'vit' && v.width === 1024 && v.layers === 24 && v.patchSize === 14) return v.imageSize === 336 ? 'ViT-L/14@336px' : 'ViT-L/14';
  if (v.kind === 'resnet' && Array.isArray(v.layers)) {
    const l = v.layers.join(',');
    if (l === '3,4,6,3' && v.width === 64) return 'RN50';
    if (l === '3,4,23,3' && v.width === 64) return 'RN101';
  }
  return undefined;
}

/**
 * How a row of ours was made beside how a published row was, so that a table prints like beside
 * like and says where they differ: the epoch selection (last, or the best epoch on the target
 * test set, an oracle), the image views the method trained on, when the learning rate steps, the
 * seeds, and the backbone a named config was released for.
 *
 * What the sources did, where anchors.json does not carry it:
 * - views: DAPL (LeapLabTHU/DAPrompt, Dassl's transforms), PDA, AD-CLIP and TLlib train on a fresh
 *   random-resized crop and flip of every image in every batch (their training transforms);
 * - learning rate: DAPL's released trainer (trainers/dapl.py) calls update_lr() after every batch.
 */
import { getNamedConfig } from '@dampl/core';
import type { AnchorRow, SelectionKind } from './anchors.js';
import { baseMethodName } from './grid.js';

export type Report = 'last' | 'best';

/** What a method line of ours ran under, read from its records' configs. */
export interface RunProtocol {
  /** Which epoch our compared figure is from. */
  selection: Report;
  /** The `views` settings the method's runs used ('0' where the config has none: one clean view). */
  views: string[];
  /** The `lrStepPer` settings, where the method has the key. */
  lrStepPer: string[];
  seeds: number[];
  /** The backbone the method's named config was released for, where it names one. */
  configBackbone?: string;
  /** The backbone of the model the table ran. */
  modelBackbone: string;
  /** Whether the method trains in epochs (false for zero-shot: selection, views and schedule do not apply); undefined when unknown. */
  trains?: boolean;
}

const ONLINE_SOURCES = /DAPL|PDA|AD-CLIP|TLlib|Transfer-Learning-Library/;
const DAPL_SOURCE = /^DAPL\b|DAPrompt/;

/** The backbone `method@name`'s named config was released for, if it names one. */
function configBackbone(method: string): string | undefined {
  const at = method.indexOf('@');
  if (at < 0) return undefined;
  const name = method.slice(at + 1).replace(/\[.*$/, '');
  try {
    const c = getNamedConfig(baseMethodName(method), name) as { backbone?: string };
    return c.backbone;
  } catch {
    return undefined;
  }
}

export function runProtocol(method: string, configs: readonly unknown[], seeds: number[], modelBackbone: string, selection: Report, trains?: boolean): RunProtocol {
  const values = (k: string) => [...new Set(configs.map((c) => (c && typeof c === 'object' && k in c ? String((c as Record<string, unknown>)[k]) : undefined))
    .filter((v): v is string => v !== undefined))].sort();
  const views = values('views');
  const cb = configBackbone(method);
  return {
    selection, views: views.length ? views : ['0'], lrStepPer: values('lrStepPer'), seeds,
    ...(cb ? { configBackbone: cb } : {}), modelBackbone, ...(trains !== undefined ? { trains } : {}),
  };
}

const SELECTION_WORDS: Record<SelectionKind | Report, string> = {
  best: 'best epoch (oracle)', last: 'last epoch', unknown: 'not stated',
};

const viewWords = (v: string) => (v === '0' ? 'one clean view' : v === 'online' ? 'online augmentation' : `${v} cached augmented views`);

/** Where our run's protocol differs from the published row's, in words; empty when nothing known differs. */
export function protocolDifferences(ours: RunProtocol, published: AnchorRow): string[] {
  const out: string[] = [];
  const trains = ours.trains !== false;
  if (trains && published.selectionKind !== ours.selection) {
    out.push(`selection: ours ${SELECTION_WORDS[ours.selection]}, published ${SELECTION_WORDS[published.selectionKind]}`);
  }
  if (trains && ONLINE_SOURCES.test(published.source) && ours.views.some((v) => v !== 'online')) {
    out.push(`views: ours ${ours.views.map(viewWords).join(' / ')}, published a fresh augmentation every batch`);
  }
  if (trains && DAPL_SOURCE.test(published.source) && ours.lrStepPer.some((v) => v !== 'batch')) {
    out.push(`learning rate: ours stepped per ${ours.lrStepPer.join(' / ')}, DAPL's trainer per batch`);
  }
  if (published.seeds !== undefined) out.push(`seeds: ours ${ours.seeds.join(', ')}, published ${published.seeds}`);
  if (ours.configBackbone && ours.configBackbone !== ours.modelBackbone) {
    out.push(`config released for ${ours.configBackbone}, run on ${ours.modelBackbone || 'another model'}`);
  }
  return out;
}

/** The figure of ours to set beside a published row: the best epoch where the source reports it and `report` asks for it. */
export function comparedSelection(report: Report, published: AnchorRow): Report {
  return report === 'best' && published.selectionKind === 'best' ? 'best' : 'last';
}

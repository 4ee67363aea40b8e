/**
 * One SVG chart per dataset table: grouped bars of the mean accuracy per task (and the average)
 * for each method, with a ±std whisker when several seeds ran. Drawn by Vega-Lite compiled to
 * Vega, rendered headless (`View.toSVG`, no canvas), so the same table gives the same file.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { DatasetTable } from './summary.js';

function chartSpec(t: DatasetTable): TopLevelSpec {
  const columns = [...t.tasks, 'avg'];
  const values = t.methods.flatMap((m) => columns.flatMap((c) => {
    const s = c === 'avg' ? m.average : m.tasks[c];
    if (!s) return [];
    const std = s.std ?? 0;
    return [{ task: c, method: m.method, mean: s.mean, lo: s.mean - std, hi: s.mean + std, seeds: s.n }];
  }));
  const methods = t.methods.map((m) => m.method);
  const x = { field: 'task', type: 'nominal', sort: columns, title: 'task', axis: { labelAngle: 0 } } as const;
  const xOffset = { field: 'method', type: 'nominal', sort: methods } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${t.title}: ${t.metric === 'mean-class' ? 'mean-class accuracy' : 'accuracy'} per task`, subtitle: t.model },
    // the step of a grouped bar chart is one bar (the offset band): 10 px, or more for few methods
    width: { step: Math.max(10, Math.floor(60 / Math.max(1, methods.length))) },
    height: 260,
    background: 'white',
    data: { values },
    encoding: { x, xOffset },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'mean', type: 'quantitative', title: 'accuracy (%)', scale: { domain: [0, 100] } },
          color: { field: 'method', type: 'nominal', sort: methods, title: 'method', scale: { scheme: methods.length > 10 ? 'tableau20' : 'tableau10' } },
          tooltip: [{ field: 'method' }, { field: 'task' }, { field: 'mean', format: '.1f' }, { field: 'seeds' }],
        },
      },
      {
        transform: [{ filter: 'datum.seeds > 1' }],
        mark: { type: 'rule', color: 'black' },
        encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
      },
    ],
    config: { font: 'sans-serif' },
  } as TopLevelSpec;
}

/** The chart of a table as SVG text. */
export async function renderChart(t: DatasetTable): Promise<string> {
  const view = new vega.View(vega.parse(compile(chartSpec(t)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

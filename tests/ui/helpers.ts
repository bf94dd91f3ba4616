import { mkdirSync, writeFileSync } from 'node:fs';
import { openRegistry } from '../../src/registry/registry.ts';
import { join } from 'node:path';
import { expectOk, cli } from '../cli/helpers.ts';

/** Writes a tiny two-feature CSV and trains a real tabular run `runsDir/id` with the CLI (a few epochs). */
export function trainTinyRun(runsDir: string, id: string, epochs = 3): string {
  const csv = join(runsDir, `${id}.csv`);
  const rows = Array.from({ length: 40 }, (_, i) => `${i % 7},${(i % 3) + 0.5},${i % 2 ? 'z' : 'x'}`);
  writeFileSync(csv, ['a,b,y', ...rows].join('\n') + '\n');
  const out = join(runsDir, id);
  expectOk(cli(['train', '--data', csv, '--target', 'y', '--epochs', String(epochs), '--out', out, '--quiet', '--json']));
  return out;
}

/** Registers each run directory in `froms` as the next version of model `tiny` in a new registry at `registry`. */
export async function registerTinyVersions(registry: string, froms: [from: string, reason: string][]): Promise<void> {
  const reg = await openRegistry(registry);
  try {
    for (const [from, reason] of froms) await reg.register({ name: 'tiny', from, reason });
  } finally {
    await reg.close();
  }
}

/**
 * Trains a real tiny MoE language model `runsDir/id` with the CLI on the State of the Union corpus: 4 experts,
 * top-2, capacity dispatch (so dropped tokens are recorded), a validation record every 5 of 20 steps.
 */
export function trainTinyMoeRun(runsDir: string, id: string): string {
  const out = join(runsDir, id);
  const model = ['--model', 'gpt', '--preset', 'tiny', '--d-model', '32', '--layers', '2', '--heads', '2', '--context', '32'];
  const moe = ['--experts', '4', '--top-k', '2', '--dispatch', 'capacity', '--capacity-factor', '1'];
  const run = ['--data', 'sotu', '--steps', '20', '--eval-every', '5', '--batch-size', '8', '--eval-tokens', '1024'];
  expectOk(cli(['train', ...model, ...moe, ...run, '--out', out, '--quiet', '--json']));
  return out;
}

/**
 * The dashboard's pages every browser check visits (axe, keyboard, layout): add a page here in one line. Paths
 * name the runs of {@link trainUiFixture}.
 */
export const UI_PAGES: { name: string; path: string }[] = [
  { name: 'runs', path: '/' },
  { name: 'run', path: '/runs/tiny' },
  { name: 'moe-run', path: '/runs/moe' },
  { name: 'compare', path: '/compare?runs=tiny,small' },
  { name: 'registry', path: '/registry' },
];

/**
 * The runs and registry {@link UI_PAGES} need, in `dir`: tabular runs `tiny` (3 epochs) and `small` (5), the MoE
 * run `moe`, and a registry with `tiny` and `small` as versions 1 and 2 of model `tiny`.
 */
export async function trainUiFixture(dir: string): Promise<{ runs: string; registry: string }> {
  const runs = join(dir, 'runs');
  mkdirSync(runs);
  trainTinyRun(runs, 'tiny');
  trainTinyRun(runs, 'small', 5);
  trainTinyMoeRun(runs, 'moe');
  const registry = join(dir, 'registry');
  await registerTinyVersions(registry, [[join(runs, 'tiny'), 'first'], [join(runs, 'small'), 'longer training']]);
  return { runs, registry };
}

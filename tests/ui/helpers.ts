import { writeFileSync } from 'node:fs';
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

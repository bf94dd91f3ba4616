import { writeFileSync } from 'node:fs';
import { openRegistry } from '../../src/registry/registry.ts';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { expect } from 'vitest';
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

/** The browser tests' viewport. */
export const VIEWPORT = { width: 1200, height: 900 };

/** The element is visible and its box lies wholly inside the viewport. */
export async function expectInViewport(el: Locator): Promise<void> {
  await expect(el.isVisible()).resolves.toBe(true);
  const b = (await el.boundingBox())!;
  expect(b.width).toBeGreaterThan(0);
  expect(b.height).toBeGreaterThan(0);
  expect(b.x).toBeGreaterThanOrEqual(0);
  expect(b.y).toBeGreaterThanOrEqual(0);
  expect(b.x + b.width).toBeLessThanOrEqual(VIEWPORT.width);
  expect(b.y + b.height).toBeLessThanOrEqual(VIEWPORT.height);
}

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './helpers.ts';

it('the README library tour runs and learns', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/run-ts.js'), 'examples/tour.ts'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('loss 1 dloss/dw [ -4, -6 ]');
  const losses = [...r.stdout.matchAll(/update \d+: loss ([\d.]+)/g)].map((m) => Number(m[1]));
  expect(losses.length).toBeGreaterThan(3);
  expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 20);
  expect(r.stdout).toMatch(/exported ONNX: \d+ bytes/);
});

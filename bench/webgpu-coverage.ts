/**
 * WebGPU op coverage (issue 13): which ops of the registry (`opNames()`) have a WebGPU kernel and which do not.
 * A report; tests/webgpu/coverage.test.ts is the test that fails on a gap (with an explicit allow-list).
 * Needs no GPU. Run: `node bin/run-ts.js bench/webgpu-coverage.ts` (add `--json` for a machine-readable line).
 */
import { opNames } from '../src/core/index.ts';
import { webgpuOps } from '../src/runtime/webgpu/kernels/index.ts';

const all = opNames().sort();
const have = new Set(webgpuOps());
const covered = all.filter((op) => have.has(op));
const missing = all.filter((op) => !have.has(op));
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ total: all.length, covered, missing }));
} else {
  console.log(`WebGPU kernels: ${covered.length} of ${all.length} registry ops`);
  console.log(`  with a kernel (${covered.length}): ${covered.join(', ')}`);
  console.log(`  without (${missing.length}): ${missing.join(', ')}`);
}

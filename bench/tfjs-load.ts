/**
 * Loads TensorFlow.js for the peer benchmarks the way the `@tensorflow/tfjs` package ships it for Node:
 * tfjs-core **with its gradient registrations** plus one backend.
 *
 * Why this exists: only `@tensorflow/tfjs-core` and the backends are installed (not the `@tensorflow/tfjs`
 * union package). Their Node entry points (`dist/*.node.js`) register no gradients, so training fails with
 * "gradient function not found"; the gradients live in `tfjs-core/dist/register_all_gradients.js`, an ESM
 * tree with extensionless imports that Node cannot load directly. We therefore bundle, with the esbuild
 * that tsx already depends on, one entry that imports tfjs-core's ESM build, its gradients and the
 * backend's ESM build (so exactly one copy of tfjs-core exists), into a CommonJS file under the OS temp
 * folder, cached by package versions, and `require` it. No tfjs code is changed or copied.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './report.ts';

type Tf = typeof import('@tensorflow/tfjs-core');
type TfWasm = typeof import('@tensorflow/tfjs-backend-wasm');

/** What {@link loadTfjs} returns: the tfjs-core namespace and, for `wasm`, the wasm backend's helpers. */
export interface LoadedTfjs {
  tf: Tf;
  wasm: TfWasm | null;
  /** Folder holding the `.wasm` binaries (with trailing slash). */
  wasmDir: string;
}

const req = createRequire(join(REPO_ROOT, 'package.json'));

function version(pkg: string): string {
  return (JSON.parse(readFileSync(req.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
}

/** Bundles (once per package versions) and loads tfjs-core + gradients + the chosen backend. */
export async function loadTfjs(backend: 'cpu' | 'wasm'): Promise<LoadedTfjs> {
  const backendPkg = backend === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs-backend-cpu';
  const entry = [
    `export * as tf from '@tensorflow/tfjs-core';`,
    `import '@tensorflow/tfjs-core/dist/register_all_gradients';`,
    backend === 'wasm' ? `export * as wasm from '${backendPkg}';` : `import '${backendPkg}';`,
  ].join('\n');
  const hash = createHash('sha256').update(entry).digest('hex').slice(0, 8);
  const tag = `core${version('@tensorflow/tfjs-core')}-${backend}${version(backendPkg)}-${hash}`;
  const dir = join(tmpdir(), 'switchyard-bench');
  const out = join(dir, `tfjs-${tag}.cjs`);
  if (!existsSync(out)) {
    const esbuild = (await import(req.resolve('esbuild'))) as typeof import('esbuild');
    mkdirSync(dir, { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    await esbuild.build({
      stdin: {
        contents: entry,
        resolveDir: REPO_ROOT,
        loader: 'js',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      mainFields: ['module', 'main'],
      external: ['node-fetch'],
      logLevel: 'error',
      outfile: tmp,
    });
    renameSync(tmp, out);
  }
  const mod = req(out) as { tf: Tf; wasm?: TfWasm };
  const wasmDir = join(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'), '..', 'dist') + '/';
  return { tf: mod.tf, wasm: mod.wasm ?? null, wasmDir };
}

/**
 * Packs what the GPU machine lacks into `.gpu-carry/` (git-ignored; the device tool's `carry` brings it along,
 * 64 MiB at most): Node 22 (xz), Debian's Vulkan loader (`libvulkan1` .deb), the linux-x64 Dawn binding of the
 * `webgpu` package, jax-js, and bench/gpu/bench.ts bundled by esbuild. onnxruntime-node is left out on purpose
 * (too big to carry): the bundle marks it external, so a GPU path that loaded it would fail loudly.
 *
 *   node bin/run-ts.js bench/gpu/prepare.ts [--bundle-only]          then, on the GPU machine: bash bench/gpu/run.sh
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { nodeBinary } from '../../tests/package/install.ts';
import { REPO_ROOT } from '../report.ts';

const CARRY = join(REPO_ROOT, '.gpu-carry');
const LIMIT = 64 * 2 ** 20;
const modules = join(REPO_ROOT, 'node_modules');

function sizeOf(path: string): number {
  const s = statSync(path);
  return s.isDirectory() ? readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0) : s.size;
}

// `--bundle-only` rebuilds the bundle and keeps the rest (compressing node takes minutes on 2 cores).
const bundleOnly = process.argv.includes('--bundle-only');
rmSync(bundleOnly ? join(CARRY, 'bench') : CARRY, { recursive: true, force: true });
mkdirSync(join(CARRY, 'node_modules', 'webgpu', 'dist', 'linux-x64'), { recursive: true });

if (!bundleOnly) {
  // jax-js needs Node >= 22 (iterator helpers); the machine has no node at all.
  process.stderr.write('node 22 (xz) ...\n');
  execFileSync('sh', ['-c', `xz -T2 -6 -c "${nodeBinary(22)}" > "${join(CARRY, 'node.xz')}"`]);
  process.stderr.write('libvulkan1 ...\n');
  execFileSync('apt-get', ['download', 'libvulkan1'], { cwd: CARRY, stdio: 'inherit' });
}

const webgpu = join(modules, 'webgpu');
for (const f of ['package.json', 'index.js']) copyFileSync(join(webgpu, f), join(CARRY, 'node_modules', 'webgpu', f));
copyFileSync(join(webgpu, 'dist', 'linux-x64', 'dawn.node'), join(CARRY, 'node_modules', 'webgpu', 'dist', 'linux-x64', 'dawn.node'));
cpSync(join(modules, '@jax-js', 'jax'), join(CARRY, 'node_modules', '@jax-js', 'jax'), {
  recursive: true, filter: (src) => !/\.(cjs|d\.ts|d\.cts|map)$/.test(src),
});

process.stderr.write('bundle ...\n');
await build({
  entryPoints: [join(REPO_ROOT, 'bench', 'gpu', 'bench.ts')],
  outdir: join(CARRY, 'bench'),
  outExtension: { '.js': '.mjs' },
  bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node22', logLevel: 'warning',
  // Dynamic imports stay lazy (splitting): the CPU runtime's chunk, which imports onnxruntime-node, never loads.
  external: ['webgpu', '@jax-js/jax', 'onnxruntime-node'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});

const total = sizeOf(CARRY);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
for (const f of readdirSync(CARRY)) process.stderr.write(`  ${f}: ${mib(sizeOf(join(CARRY, f)))}\n`);
process.stderr.write(`.gpu-carry: ${mib(total)} (the device tool carries at most ${mib(LIMIT)})\n`);
if (total > LIMIT) process.exit(1);

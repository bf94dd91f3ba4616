import { runJsonChild } from './child.ts';
/**
 * PyTorch peer of the LM training benchmark: runs `bench/torch_lm.py` (CPU, 2 threads) in a child Python
 * and returns its numbers as an {@link LmPeerResult}, with GFLOP/s from the shared {@link lmStepFlops}.
 *
 * Switchyard itself never needs Python; this peer is optional. The Python used is the first of
 * `$SWITCHYARD_BENCH_PYTHON`, `/usr/bin/python3` (where Debian's `python3-torch` installs), `python3` on PATH
 * that can `import torch`; when none can, {@link measureTorchLm} returns `{ skipped }` with the reason.
 * Debian's torch links `libblas.so.3`, which is the reference BLAS (~4 GFLOP/s) unless OpenBLAS is installed.
 * The OpenMP build of OpenBLAS (`apt-get install libopenblas0-openmp`) is the one to use: torch runs its own
 * ops on an OpenMP pool, and the OpenMP OpenBLAS shares it, while the pthread OpenBLAS adds two more busy
 * threads on a 2-core box (measured on the dense step: ~345 ms vs ~1300 ms). Where it is installed but not the
 * system default, the child gets its folder first on `LD_LIBRARY_PATH`. The result's notes name the BLAS loaded.
 *
 * CLI: `node bin/run-ts.js bench/torch-lm.ts [--config dense|moe] [--seconds S] [--json]`
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LM_CONFIGS, activeParams, lmStepFlops, totalParams, type LmPeerResult } from './lm-config.ts';
import { REPO_ROOT } from './report.ts';

/** A peer that could not run here, and why. */
export interface SkippedPeer {
  skipped: string;
}

const SCRIPT = join(REPO_ROOT, 'bench', 'torch_lm.py');

/** Folder of Debian's OpenMP OpenBLAS (`libopenblas0-openmp`), if installed. */
function openmpOpenblasDir(): string | null {
  const lib = '/usr/lib';
  if (!existsSync(lib)) return null;
  for (const triplet of readdirSync(lib)) {
    const dir = join(lib, triplet, 'openblas-openmp');
    if (existsSync(join(dir, 'libblas.so.3'))) return dir;
  }
  return null;
}

/** What the Python script prints (one JSON line). */
interface TorchLmJson {
  name: string;
  config: 'dense' | 'moe';
  msPerStep: number;
  tokensPerSec: number;
  peakRssMB: number;
  params: number;
  activeParams: number;
  torchVersion: string;
  threads: number;
  blas: string[];
  steps: number;
  warmupSteps: number;
  lossFirst: number;
  lossLast: number;
  msMin: number;
  msMax: number;
}

/**
 * Finds a Python that can `import torch`, trying `candidates` in order.
 * @returns `{ python, version }` or `{ skipped }` naming every interpreter tried and why it failed.
 */
export function findTorchPython(
  candidates: string[] = [process.env.SWITCHYARD_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter(
    (p, i, all): p is string => !!p && all.indexOf(p) === i,
  ),
): { python: string; version: string } | SkippedPeer {
  const tried: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python, version: r.stdout.trim() };
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
    tried.push(`${python}: ${why}`);
  }
  return {
    skipped: `PyTorch not available (${tried.join('; ')}); on Debian: apt-get install python3-torch, or set SWITCHYARD_BENCH_PYTHON`,
  };
}

/** The environment of a PyTorch child: `threads` threads everywhere, the OpenMP OpenBLAS first where installed. */
export function torchChildEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  const blasDir = openmpOpenblasDir();
  if (blasDir) env.LD_LIBRARY_PATH = [blasDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

/**
 * Times PyTorch training steps of the `config` LM for about `seconds` (after 3 warm-up steps, at least 5
 * timed steps), 2 threads, in a child Python process.
 * @returns the result, or `{ skipped }` when no Python with torch is installed.
 */
export async function measureTorchLm(config: 'dense' | 'moe', seconds: number, opts: { threads?: number; minSteps?: number } = {}): Promise<LmPeerResult | SkippedPeer> {
  const found = findTorchPython();
  if ('skipped' in found) return found;
  const threads = opts.threads ?? 2;
  const args = [SCRIPT, '--config', config, '--seconds', String(seconds), '--threads', String(threads), '--json'];
  if (opts.minSteps !== undefined) args.push('--min-steps', String(opts.minSteps));
  const r = await runJsonChild<TorchLmJson>(`torch-lm (${config}): ${found.python} ${SCRIPT}`, found.python, args, torchChildEnv(threads));
  const cfg = LM_CONFIGS[config];
  const mismatch: string[] = [];
  if (r.params !== totalParams(cfg)) mismatch.push(`params ${r.params} vs lm-config ${totalParams(cfg)}`);
  if (r.activeParams !== activeParams(cfg)) mismatch.push(`active params ${r.activeParams} vs lm-config ${activeParams(cfg)}`);
  if (mismatch.length > 0) throw new Error(`torch-lm (${config}): the PyTorch model is not the lm-config model: ${mismatch.join(', ')}`);
  return {
    name: 'pytorch',
    config,
    msPerStep: r.msPerStep,
    tokensPerSec: r.tokensPerSec,
    gflops: lmStepFlops(cfg) / (r.msPerStep * 1e6),
    peakRssMB: r.peakRssMB,
    params: r.params,
    activeParams: r.activeParams,
    steps: r.steps,
    lossFirst: r.lossFirst,
    lossLast: r.lossLast,
    threads: r.threads,
    version: `torch ${r.torchVersion}`,
    notes: [
      `${found.python}, torch ${r.torchVersion}, ${r.threads} threads, eager mode, torch.optim.AdamW`,
      `BLAS: ${r.blas.length > 0 ? r.blas.join(', ') : 'unknown'}`,
      `step = forward + backward + AdamW + loss.item()`,
      `${r.warmupSteps} warm-up steps, median of ${r.steps} (min ${r.msMin.toFixed(1)} ms, max ${r.msMax.toFixed(1)} ms)`,
      `cross-entropy ${r.lossFirst.toFixed(3)} -> ${r.lossLast.toFixed(3)} over ${r.warmupSteps + r.steps} steps on one fixed random batch`,
    ].join('; '),
  };
}

const SELF = fileURLToPath(import.meta.url);

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const config = get('--config') ?? 'dense';
  if (config !== 'dense' && config !== 'moe') {
    process.stderr.write(`torch-lm: --config must be dense or moe, got ${config}\nusage: node bin/run-ts.js bench/torch-lm.ts [--config dense|moe] [--seconds S] [--min-steps N] [--json]\n`);
    process.exit(2);
  }
  const seconds = Number(get('--seconds') ?? 10);
  const minSteps = get('--min-steps') !== undefined ? Number(get('--min-steps')) : undefined;
  const r = await measureTorchLm(config, seconds, { minSteps });
  if (argv.includes('--json')) {
    process.stdout.write(JSON.stringify(r) + '\n');
  } else if ('skipped' in r) {
    process.stdout.write(`pytorch ${config}: skipped: ${r.skipped}\n`);
  } else {
    process.stdout.write(
      `pytorch ${config}: ${r.msPerStep.toFixed(1)} ms/step, ${r.tokensPerSec.toFixed(0)} tokens/s, ${r.gflops.toFixed(1)} GFLOP/s, ` +
        `peak RSS ${r.peakRssMB.toFixed(0)} MB\n  ${r.notes?.split('; ').join('\n  ')}\n`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  main().catch((e: unknown) => {
    process.stderr.write(`torch-lm: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

/**
 * The package as a user meets it: how fast the CLI answers `--help` (built JS vs the TypeScript sources through
 * tsx), how long `import 'switchyard'` takes, and how much `npm install` of the packed tarball puts on disk, for
 * the core alone and with each optional package.
 *
 *   npm run build && node bin/run-ts.js bench/package.ts [--quick]
 */
import { execSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPTIONAL_PACKAGES } from '../src/util/optional.ts';
import { diskUsage, installExtras, installTarball, packTarball, ROOT } from '../tests/package/install.ts';
import { updateBenchmarksMd, writeBenchResult } from './report.ts';
import { median } from './stats.ts';

const quick = process.argv.includes('--quick');
const runs = quick ? 5 : 11;
const log = (s: string) => process.stderr.write(s + '\n');

/** Median wall seconds of `runs` runs of a command (each must exit 0). */
function medianSeconds(command: string, args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

/**
 * The CLI as it was before the package was built (commit 29be146: the sources through tsx, every verb imported
 * at start), extracted with `git archive` beside this checkout's node_modules, so both run in the same conditions.
 */
const BASELINE = '29be146';
const work = mkdtempSync(join(tmpdir(), 'sy-bench-package-'));
const before = join(work, 'before');
mkdirSync(before);
execSync(`git archive ${BASELINE} bin src package.json | tar -x -C ${JSON.stringify(before)}`, { cwd: ROOT });
symlinkSync(join(ROOT, 'node_modules'), join(before, 'node_modules'));

const node = process.execPath;
const startup = [
  {
    what: `switchyard --help before (${BASELINE}: sources through tsx, eager imports)`,
    s: medianSeconds(node, [join(before, 'bin/switchyard.js'), '--help']),
  },
  { what: 'switchyard --help (built: node bin/switchyard.js)', s: medianSeconds(node, ['bin/switchyard.js', '--help']) },
  { what: 'npx switchyard --help (built)', s: medianSeconds('npx', ['switchyard', '--help']) },
  {
    what: 'switchyard --help from the sources (tsx: bin/switchyard-dev.js)',
    s: medianSeconds(node, ['bin/switchyard-dev.js', '--help']),
  },
  {
    what: "import 'switchyard' (built dist/index.js)",
    s: medianSeconds(node, ['--input-type=module', '-e', "await import('./dist/index.js')"]),
  },
];
for (const r of startup) log(`${r.what}: ${r.s.toFixed(3)} s`);

const sizes: { install: string; mb: number }[] = [];
try {
  const app = join(work, 'app');
  installTarball(packTarball(work), app);
  const core = diskUsage(join(app, 'node_modules'));
  sizes.push({ install: 'switchyard (core: onnxruntime-node, yaml)', mb: core / 1e6 });
  for (const extra of Object.keys(OPTIONAL_PACKAGES)) {
    installExtras(app, [extra]);
    sizes.push({ install: `+ ${extra}`, mb: (diskUsage(join(app, 'node_modules')) - core) / 1e6 });
    spawnSync('npm', ['uninstall', extra], { cwd: app, stdio: 'ignore' });
    log(`${sizes.at(-1)?.install}: ${sizes.at(-1)?.mb.toFixed(1)} MB`);
  }
  installExtras(app, Object.keys(OPTIONAL_PACKAGES));
  sizes.push({ install: 'switchyard with every optional package', mb: diskUsage(join(app, 'node_modules')) / 1e6 });
} finally {
  rmSync(work, { recursive: true, force: true });
}

writeBenchResult('package', { runs, startup, sizes });
updateBenchmarksMd({
  name: 'package',
  title: 'Package: CLI start-up and installed size',
  intro: `Median wall time of ${runs} runs of each command from the repository (Node ${process.version}); the first row `
    + `is the CLI of commit ${BASELINE}, before the package was built, in the same run (the issue measured ~1.5 s `
    + 'for it, ~3 s through npx). Installed size: `du` of `node_modules` after `npm install` of the `npm pack` '
    + 'tarball into a fresh project; an extra is the growth from installing that one optional package on top of '
    + 'the core. Before, every one of them was a dependency: about 600 MB.',
  columns: ['what', 'seconds', 'installed MB'],
  rows: [...startup.map((r) => [r.what, r.s, '']), ...sizes.map((r) => [r.install, '', r.mb])],
  notes: [
    '`npx` itself (npm starting up) takes most of the `npx switchyard --help` time.',
    '`npm ci` of a fresh clone (measured by hand, 2026-12-07, a loaded 2-core box): 500 s, of which the `prepare` '
      + 'build (`tsc`, `npm run build`) took 49 s (9 s on an idle box); most of the rest compiles better-sqlite3, '
      + 'whose prebuilt binary comes from GitHub, unreachable here.',
  ],
});

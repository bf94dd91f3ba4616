/**
 * The package as a user gets it: `npm pack` of this checkout (its `prepare` builds dist/ fresh), installed into
 * a new project outside the repository, and the Node.js binaries of other major versions from the npm registry.
 * Shared by tests/package/*.test.ts and bench/package.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

/** npm, quiet and from the cache first (the registry only for what `npm ci` did not fetch). */
function npm(args: string[], cwd: string): string {
  const quiet = { npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  const env = { ...process.env, ...quiet };
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  return execFileSync('npm', [...args, '--prefer-offline'], { cwd, env, encoding: 'utf8', stdio });
}

/**
 * Packs this checkout into `dest` (npm runs `prepare`, i.e. `npm run build`) and returns the tarball's path.
 *
 * @example
 * const tgz = packTarball(mkdtempSync(join(tmpdir(), 'pack-')));
 */
export function packTarball(dest: string): string {
  const out = npm(['pack', '--json', '--pack-destination', dest], ROOT);
  const [{ filename }] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string }[];
  return join(dest, filename);
}

/**
 * A fresh ES-module project in `dir` with `tarball` and `extras` (e.g. `fastify`, `@types/node@20`) installed.
 * The project lists onnxruntime-node in `allowScripts` as `false`, as the README tells users: its install script
 * would download CUDA binaries (the CPU binaries ship inside its npm package).
 *
 * @example
 * installTarball(tgz, join(tmp, 'app'), ['@types/node@20.19.43']);
 */
export function installTarball(tarball: string, dir: string, extras: string[] = []): void {
  mkdirSync(dir, { recursive: true });
  const allowScripts = { 'onnxruntime-node': false };
  const manifest = { name: 'consumer', version: '1.0.0', private: true, type: 'module', allowScripts };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  npm(['install', tarball, ...extras], dir);
}

/** Adds packages to a project made by {@link installTarball}. */
export function installExtras(dir: string, extras: string[]): void {
  npm(['install', ...extras], dir);
}

/**
 * Path of the `node` binary of Node.js `major` (e.g. 22), installed once from the npm registry's `node` package
 * into `~/.cache/switchyard-node/<major>` (about 14 s the first time; later runs reuse it).
 *
 * @example
 * spawnSync(nodeBinary(24), ['--version']);
 */
export function nodeBinary(major: number): string {
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'switchyard-node', String(major));
  const bin = join(dir, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
    npm(['install', `node@${major}`], dir);
  }
  return bin;
}

/** Installed size of a folder in bytes (`du` semantics: allocated blocks, hard links once). */
export function diskUsage(dir: string): number {
  return Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) * 1024;
}

/** Top-level package folders of `node_modules` (scoped ones as `@scope/name`). */
export function installedPackages(dir: string): string[] {
  const nm = join(dir, 'node_modules');
  const top = readdirSync(nm).filter((n) => !n.startsWith('.'));
  return top.flatMap((n) => (n.startsWith('@') ? readdirSync(join(nm, n)).map((m) => `${n}/${m}`) : [n]));
}

/**
 * PostgreSQL for tests. `.ci/run` starts a real server on loopback and exports SWITCHYARD_TEST_POSTGRES
 * (a URL to a database the tests may create databases from). Without it, when PostgreSQL binaries are
 * installed (`initdb` on PATH or under /usr/lib/postgresql/<v>/bin), the first call starts a throwaway
 * cluster in a temp directory for this test file (as the `postgres` user when running as root, since the
 * server refuses root) and stops it when the process exits. Each call to {@link pgTestDatabase} returns a
 * fresh database, so test files never see each other's tables.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Where the PostgreSQL server binaries are, or null. */
export function pgBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
    if (versions.length) return join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? join(which.stdout.trim(), '..') : null;
}

/** True when the PostgreSQL variant of the tests can run (server given, or binaries to start one). */
export const PG_AVAILABLE = Boolean(process.env.SWITCHYARD_TEST_POSTGRES) || pgBinDir() !== null;

if (!PG_AVAILABLE) {
  process.stderr.write('\n!!! PostgreSQL tests SKIPPED: SWITCHYARD_TEST_POSTGRES is unset and no initdb is installed (apt-get install postgresql, or run .ci/run) !!!\n\n');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let serverUrl: Promise<string> | undefined;

async function startCluster(): Promise<string> {
  const bin = pgBinDir();
  if (!bin) throw new Error('no PostgreSQL binaries');
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'sy-pg-'));
  const data = join(dir, 'data');
  chmodSync(dir, 0o777);
  if (root) execFileSync('chown', ['postgres', dir]);
  const as = (cmd: string, args: string[]): void => {
    const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  };
  as('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  as('pg_ctl', ['-D', data, '-w', '-t', '60', '-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  // A watchdog outlives this process (vitest may kill its workers without running exit handlers):
  // when the test process is gone, it stops the server and removes the directory.
  const stop = `${root ? 'runuser -u postgres -- ' : ''}'${join(bin, 'pg_ctl')}' -D '${data}' -m immediate stop`;
  spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${stop} >/dev/null 2>&1; rm -rf '${dir}'`], { detached: true, stdio: 'ignore' }).unref();
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

/**
 * A URL to a brand-new, empty database on the test server (started on first use when needed).
 *
 * @example
 * const url = await pgTestDatabase(); // postgres://postgres@127.0.0.1:5433/sy_test_1a2b3c4d
 */
export async function pgTestDatabase(): Promise<string> {
  serverUrl ??= process.env.SWITCHYARD_TEST_POSTGRES ? Promise.resolve(process.env.SWITCHYARD_TEST_POSTGRES) : startCluster();
  const base = await serverUrl;
  const name = `sy_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The backends every registry/serve/monitor suite runs against; PostgreSQL only when available. */
export const BACKENDS: readonly ('sqlite' | 'postgres')[] = PG_AVAILABLE ? ['sqlite', 'postgres'] : ['sqlite'];

/**
 * A fresh registry location for `backend`: a new temp directory, or a new PostgreSQL database URL.
 *
 * @example
 * const location = await freshLocation('postgres');
 */
export async function freshLocation(backend: 'sqlite' | 'postgres'): Promise<string> {
  return backend === 'sqlite' ? mkdtempSync(join(tmpdir(), 'sy-reg-')) : pgTestDatabase();
}

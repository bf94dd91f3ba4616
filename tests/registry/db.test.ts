/** The SQL layer under the registry and the monitor: one API over SQLite and PostgreSQL. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Db, openDb } from '../../src/registry/db.ts';
import { SwitchyardError } from '../../src/util/errors.ts';
import { BACKENDS, pgTestDatabase } from '../pg.ts';

describe.each(BACKENDS)('db on %s', (backend) => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb(backend === 'sqlite' ? join(mkdtempSync(join(tmpdir(), 'sy-db-')), 'nested', 'x.sqlite') : await pgTestDatabase());
    await db.migrate('t-1', ['CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, payload BLOB, n BIGINT)']);
  });
  afterAll(async () => db?.close());

  test('$n placeholders (repeated, and left alone inside string literals); blobs and bigints round-trip', async () => {
    expect(db.dialect).toBe(backend);
    await db.exec('INSERT INTO t (id, name, payload, n) VALUES ($1, $2, $3, $4)', [1, 'a$1b', Buffer.from([0, 1, 255]), 2 ** 40]);
    const rows = await db.query<{ id: number; name: string; payload: Buffer; n: number; lit: string }>("SELECT id, name, payload, n, 'cost $1' AS lit FROM t WHERE id = $1 AND (name = $2 OR id = $1)", [1, 'a$1b']);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: 1, name: 'a$1b', n: 2 ** 40, lit: 'cost $1' });
    expect([...rows[0].payload]).toEqual([0, 1, 255]);
    expect(await db.exec('UPDATE t SET name = $1 WHERE id > $2', ['b', 0])).toEqual({ changes: 1 });
  });

  test('INSERT … RETURNING gives back generated ids in both dialects', async () => {
    await db.migrate('seq-1', {
      sqlite: ['CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)'],
      postgres: ['CREATE TABLE seq (id BIGSERIAL PRIMARY KEY, v TEXT)'],
    });
    const a = await db.query<{ id: number }>('INSERT INTO seq (v) VALUES ($1) RETURNING id', ['a']);
    const b = await db.query<{ id: number }>('INSERT INTO seq (v) VALUES ($1) RETURNING id', ['b']);
    expect(typeof a[0].id).toBe('number');
    expect(b[0].id).toBe(a[0].id + 1);
  });

  test('tx commits on return and rolls back on throw', async () => {
    await db.tx(async (t) => {
      await t.exec('INSERT INTO t (id, name) VALUES ($1, $2)', [2, 'kept']);
    });
    await expect(
      db.tx(async (t) => {
        await t.exec('INSERT INTO t (id, name) VALUES ($1, $2)', [3, 'dropped']);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const ids = (await db.query<{ id: number }>('SELECT id FROM t ORDER BY id')).map((r) => r.id);
    expect(ids).toEqual([1, 2]);
  });

  test('concurrent transactions that read-then-write never lose an update', async () => {
    await db.exec('INSERT INTO t (id, n) VALUES ($1, $2)', [10, 0]);
    await Promise.all(
      Array.from({ length: 6 }, () =>
        db.tx(async (t) => {
          const [{ n }] = await t.query<{ n: number }>('SELECT n FROM t WHERE id = $1', [10]);
          await t.exec('UPDATE t SET n = $1 WHERE id = $2', [n + 1, 10]);
        }),
      ),
    );
    expect((await db.query<{ n: number }>('SELECT n FROM t WHERE id = 10'))[0].n).toBe(6);
  });

  test('a migration runs once per name', async () => {
    await db.migrate('t-1', ['CREATE TABLE t (id INTEGER)']); // already applied: not run again
    await db.migrate('t-2', { sqlite: ['CREATE TABLE u (x INTEGER)'], postgres: ['CREATE TABLE u (x BIGINT)'] });
    await db.migrate('t-2', { sqlite: ['CREATE TABLE u (x INTEGER)'], postgres: ['CREATE TABLE u (x BIGINT)'] });
    expect((await db.query<{ name: string }>('SELECT name FROM _migrations ORDER BY name')).map((r) => r.name)).toEqual(['seq-1', 't-1', 't-2']);
  });
});

test('an unreachable PostgreSQL server is a clear error with the password redacted', async () => {
  const err = await openDb('postgres://me:secret@127.0.0.1:1/nope').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SwitchyardError);
  expect((err as SwitchyardError).code).toBe('E_DB_CONNECT');
  expect((err as SwitchyardError).message).toMatch(/postgres:\/\/me:\*\*\*@127\.0\.0\.1:1\/nope: cannot connect/);
  expect((err as SwitchyardError).message).not.toContain('secret');
});

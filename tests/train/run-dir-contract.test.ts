/**
 * The contract of run directories (src/train/run-dir.ts), file by file: openRun hands out only what the
 * manifest lists and says why it cannot open a run; a config that is not a Switchyard run is named with the
 * reason; isRunDir recognises a run strictly (so --force never deletes anything else); prepareRunDir and
 * finishRunDir write a new run in place or replace an old one by a swap.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { finishRunDir, isRunDir, openRun, prepareRunDir, readResumableConfig, RUN_FILES } from '../../src/train/run-dir.ts';
import { MANIFEST_NAME, sha256Bytes, writeManifest } from '../../src/util/fs.ts';
import { expectSwitchyardError } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'sy-rundir-contract-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let serial = 0;

const HEADER = { format: 'switchyard.run', version: 1, kind: 'tabular-mlp' };

/** A finished run: config, weights (any bytes), metrics, and a manifest over all of them. */
async function run(extra: Record<string, string> = {}, config: unknown = HEADER): Promise<string> {
  const dir = join(root, `run${serial++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, RUN_FILES.config), JSON.stringify(config));
  writeFileSync(join(dir, RUN_FILES.model), 'weights');
  writeFileSync(join(dir, RUN_FILES.summary), '{}');
  for (const [rel, text] of Object.entries(extra)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  await writeManifest(dir);
  return dir;
}

describe('openRun', () => {
  it('hands out listed files only, checks the kind, and skips resume state', async () => {
    const dir = await run({ 'checkpoint/model.safetensors': 'ck', [RUN_FILES.optimizer]: 'opt', 'best/model.safetensors': 'b', 'report.html': 'r' });
    const r = await openRun(dir);
    expect(r.config).toEqual(HEADER);
    expect(r.dir).toBe(dir);
    expect(r.lists(RUN_FILES.model)).toBe(true);
    expect(r.lists('nope.json')).toBe(false);
    expect(r.file('report.html')).toBe(join(dir, 'report.html'));
    expect(r.file('checkpoint/model.safetensors')).toBe(join(dir, 'checkpoint', 'model.safetensors'));
    const e = await expectSwitchyardError(() => r.file('nope.json'), 'E_MANIFEST', /manifest\.json: nope\.json: not listed in the manifest$/);
    expect(e.hint).toBe('the run directory is incomplete or was modified; retrain it');
    expect((await openRun(dir, { kinds: ['gpt', 'tabular-mlp'] })).config.kind).toBe('tabular-mlp');
    const k = await expectSwitchyardError(() => openRun(dir, { kinds: ['gpt', 'unet'] }), 'E_CONFIG', /config\.json: a run of kind tabular-mlp, this needs gpt or unet$/);
    expect(k.hint).toBe('pass a run of the right kind');
    // resume state changes after the manifest (a later --resume) without making the run unreadable
    for (const rel of ['checkpoint/model.safetensors', RUN_FILES.optimizer, 'best/model.safetensors']) writeFileSync(join(dir, rel), 'changed');
    await openRun(dir);
    // what is checked is the rest: a changed metrics file, a model file planted beside the run
    writeFileSync(join(dir, 'extra.safetensors'), 'x');
    await expectSwitchyardError(() => openRun(dir), 'E_UNLISTED_MODEL');
    rmSync(join(dir, 'extra.safetensors'));
    writeFileSync(join(dir, RUN_FILES.summary), '{"x":1}');
    await expectSwitchyardError(() => openRun(dir), 'E_MANIFEST', /metrics\.json: size/);
    // the model must be listed (a run whose manifest left it out is incomplete)
    const noModel = await run();
    rmSync(join(noModel, RUN_FILES.model));
    await writeManifest(noModel);
    await expectSwitchyardError(() => openRun(noModel), 'E_MANIFEST', /model\.safetensors: not listed/);
    // files to require besides the model
    const t = await run();
    await expectSwitchyardError(() => openRun(t, { files: [RUN_FILES.tokenizer] }), 'E_MANIFEST', /tokenizer\.json: not listed/);
  });

  it('says why a run cannot be opened: no config, an interrupted replacement, no manifest, an interrupted run', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const e = await expectSwitchyardError(() => openRun(empty), 'E_FILE_NOT_FOUND', /empty.config\.json: no such file$/);
    expect(e.hint).toBe('pass the --out directory of a finished switchyard train run');
    mkdirSync(`${empty}.replaced`);
    const r = await expectSwitchyardError(() => openRun(`${empty}//`), 'E_FILE_NOT_FOUND');
    expect(r.hint).toBe(`a --force replacement was interrupted; the previous run is in ${empty}.replaced: rename it back to ${empty}//`);

    const dir = await run();
    rmSync(join(dir, MANIFEST_NAME));
    const m = await expectSwitchyardError(() => openRun(dir), 'E_MANIFEST');
    expect(m.message).toBe(`${join(dir, MANIFEST_NAME)}: no manifest, so the run cannot be verified`);
    expect(m.hint).toBe('pass a run directory written by switchyard train, or retrain it');
    for (const ck of [RUN_FILES.checkpoint, `${RUN_FILES.checkpoint}.old`]) {
      mkdirSync(join(dir, ck));
      const i = await expectSwitchyardError(() => openRun(dir), 'E_MANIFEST');
      expect(i.message).toBe(`${join(dir, MANIFEST_NAME)}: no manifest, so the run cannot be verified (its training was interrupted or is still running)`);
      expect(i.hint).toBe(`finish it with switchyard train --resume --out ${dir}, or retrain it`);
      rmSync(join(dir, ck), { recursive: true });
    }
  });
});

describe('run configs', () => {
  it.each([
    { what: 'not JSON', text: '{"format":', re: /not valid JSON \(/, hint: 'the run directory is damaged; retrain' },
    { what: 'an array', text: '[1]', re: /not a Switchyard run config \(not a JSON object\)$/ },
    { what: 'null', text: 'null', re: /\(not a JSON object\)$/ },
    { what: 'a number', text: '7', re: /\(not a JSON object\)$/ },
    { what: 'another format', text: '{"format":"x","version":1,"kind":"gpt"}', re: /\(format is "x", not "switchyard\.run"\)$/ },
    { what: 'no format', text: '{"version":1,"kind":"gpt"}', re: /\(format is undefined, not "switchyard\.run"\)$/ },
    { what: 'version 2', text: '{"format":"switchyard.run","version":2,"kind":"gpt"}', re: /\(version 2 is not 1\)$/ },
    { what: 'an unknown kind', text: '{"format":"switchyard.run","version":1,"kind":"svm"}', re: /\(kind "svm" is not one of tabular-mlp, gpt, encoder, text-classifier, unet, conv-encoder, image-classifier\)$/ },
  ])('a config that is $what is refused, named, and is no run', async ({ text, re, hint }) => {
    const dir = join(root, `cfg${serial++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, RUN_FILES.config), text);
    const e = await expectSwitchyardError(() => readResumableConfig(dir), 'E_CONFIG', re);
    expect(e.message.startsWith(join(dir, RUN_FILES.config))).toBe(true);
    expect(e.hint).toBe(hint ?? 'pass a directory written by switchyard train');
    await writeManifest(dir);
    expect(await isRunDir(dir)).toBe(false);
  });

  it('readResumableConfig: the text of a verified config; nothing to resume without one', async () => {
    const dir = await run({}, { ...HEADER, hidden: [4] });
    expect(await readResumableConfig(dir)).toBe(readFileSync(join(dir, RUN_FILES.config), 'utf8'));
    writeFileSync(join(dir, RUN_FILES.config), JSON.stringify({ ...HEADER, hidden: [5] }));
    await expectSwitchyardError(() => readResumableConfig(dir), 'E_MANIFEST', /config\.json/);
    rmSync(join(dir, MANIFEST_NAME)); // an interrupted invocation: the checkpoint's hash is checked on load
    expect(JSON.parse(await readResumableConfig(dir)).hidden).toEqual([5]);
    const none = await expectSwitchyardError(() => readResumableConfig(join(root, 'nothing')), 'E_FILE_NOT_FOUND', /nothing.config\.json: nothing to resume$/);
    expect(none.hint).toBe('run without --resume first');
  });
});

describe('isRunDir', () => {
  it('a run is a header, vouched for by the manifest or (interrupted) the checkpoint, and nothing else', async () => {
    const dir = await run();
    expect(await isRunDir(dir)).toBe(true);
    // entries a run writes before its manifest are its own
    for (const name of ['checkpoint.old', 'checkpoint.tmp-123', 'ema.safetensors', 'ema-4000.safetensors', RUN_FILES.metrics, RUN_FILES.tokenizer]) {
      writeFileSync(join(dir, name), '');
      expect(await isRunDir(dir), name).toBe(true);
    }
    for (const name of ['notes.txt', 'checkpoint.tmp-abc', 'ema-x.safetensors', 'xcheckpoint.old', 'ema.safetensors.bak', 'checkpoint.old.bak', 'xema.safetensors']) {
      writeFileSync(join(dir, name), '');
      expect(await isRunDir(dir), name).toBe(false);
      rmSync(join(dir, name));
    }
    // a listed extra file is the run's
    const listed = await run({ 'notes.txt': 'n' });
    expect(await isRunDir(listed)).toBe(true);

    // the manifest must vouch for this exact config
    writeFileSync(join(dir, RUN_FILES.config), JSON.stringify({ ...HEADER, edited: true }));
    expect(await isRunDir(dir)).toBe(false);
    const text = readFileSync(join(dir, RUN_FILES.config), 'utf8');
    // without a manifest, a checkpoint (or the set put aside) that records the config's hash vouches for it
    rmSync(join(dir, MANIFEST_NAME));
    expect(await isRunDir(dir)).toBe(false);
    rmSync(join(dir, 'checkpoint.old'));
    for (const ck of [RUN_FILES.checkpoint, `${RUN_FILES.checkpoint}.old`]) {
      mkdirSync(join(dir, ck));
      writeFileSync(join(dir, ck, RUN_FILES.state), JSON.stringify({ configSha256: sha256Bytes(`${text} `) }));
      expect(await isRunDir(dir), `${ck}, other hash`).toBe(false);
      writeFileSync(join(dir, ck, RUN_FILES.state), JSON.stringify({ configSha256: sha256Bytes(text) }));
      expect(await isRunDir(dir), ck).toBe(true);
      rmSync(join(dir, ck), { recursive: true });
    }
    // a manifest that does not vouch is not overruled by a checkpoint; a manifest that is not one vouches for nothing
    mkdirSync(join(dir, RUN_FILES.checkpoint));
    writeFileSync(join(dir, RUN_FILES.checkpoint, RUN_FILES.state), JSON.stringify({ configSha256: sha256Bytes(text) }));
    writeFileSync(join(dir, MANIFEST_NAME), JSON.stringify({ files: [] }));
    expect(await isRunDir(dir)).toBe(false);
    writeFileSync(join(dir, MANIFEST_NAME), JSON.stringify({ files: 'config.json' }));
    expect(await isRunDir(dir)).toBe(false);
    // only an entry for config.json with its hash vouches; null entries are skipped
    writeFileSync(join(dir, MANIFEST_NAME), JSON.stringify({ files: [null, { path: 'model.safetensors', sha256: sha256Bytes(text) }] }));
    expect(await isRunDir(dir)).toBe(false);
    writeFileSync(join(dir, MANIFEST_NAME), JSON.stringify({ files: [{ path: RUN_FILES.config, sha256: sha256Bytes(text) }] }));
    expect(await isRunDir(dir)).toBe(true);
    expect(await isRunDir(join(root, 'nothing'))).toBe(false);
  });
});

describe('prepareRunDir and finishRunDir', () => {
  it('new, empty and resumed runs are written in place; a file, a foreign directory or an existing run are refused', async () => {
    const fresh = join(root, 'fresh');
    expect(await prepareRunDir(fresh, {})).toEqual({ work: fresh, out: fresh, replace: false });
    mkdirSync(fresh);
    expect(await prepareRunDir(fresh, { force: true })).toEqual({ work: fresh, out: fresh, replace: false });
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const f = await expectSwitchyardError(() => prepareRunDir(file, {}), 'E_OUTPUT', /a-file: --out is a file, not a directory$/);
    expect(f.hint).toBe('pass a new directory for the run');
    writeFileSync(join(fresh, 'mine.txt'), 'x');
    const n = await expectSwitchyardError(() => prepareRunDir(fresh, {}), 'E_OUT_NOT_RUN');
    expect(n.message).toBe(`${fresh}: --out is a directory that is not empty and is not a Switchyard run; refusing to write into it or replace it`);
    expect(n.hint).toBe('pick a new or empty --out directory');
    const nf = await expectSwitchyardError(() => prepareRunDir(fresh, { force: true }), 'E_OUT_NOT_RUN');
    expect(nf.message.endsWith('replace it (even with --force)')).toBe(true);
    expect(readdirSync(fresh)).toEqual(['mine.txt']);
    // a resumable run is verified: a model file planted beside it is refused
    const planted = await run();
    writeFileSync(join(planted, 'extra.onnx'), 'x');
    await expectSwitchyardError(() => readResumableConfig(planted), 'E_UNLISTED_MODEL');

    const dir = await run();
    const x = await expectSwitchyardError(() => prepareRunDir(dir, {}), 'E_RUN_EXISTS');
    expect(x.message).toBe(`${dir} already holds a run (config.json)`);
    expect(x.hint).toBe('continue it with --resume, pick another --out, or replace it with --force');
    // --resume continues in place whatever is there, without looking
    expect(await prepareRunDir(file, { resume: true })).toEqual({ work: file, out: file, replace: false });
    const u = await expectSwitchyardError(() => prepareRunDir(dir, { resume: true, force: true }), 'E_USAGE');
    expect(u.hint).toBe('use --resume to continue the run, or --force (without --resume) to replace it');
  });

  it('--force builds the new run beside the old one and swaps it in when finished', async () => {
    const plain = await run();
    expect(await prepareRunDir(`${plain}//`, { force: true })).toMatchObject({ out: `${plain}//`, replace: true });
    const dir = await run();
    const work = `${dir}.tmp-${process.pid}`;
    mkdirSync(work);
    writeFileSync(join(work, 'stale.bin'), 'left by an earlier attempt of this process');
    const t = await prepareRunDir(dir, { force: true });
    expect(t).toEqual({ work, out: dir, replace: true });
    expect(existsSync(work)).toBe(false);
    mkdirSync(work);
    writeFileSync(join(work, RUN_FILES.config), JSON.stringify({ ...HEADER, kind: 'gpt' }));
    writeFileSync(join(work, RUN_FILES.model), 'new weights');
    expect((await openRun(dir)).config.kind).toBe('tabular-mlp'); // the old run is intact meanwhile
    await finishRunDir(t);
    expect((await openRun(dir)).config.kind).toBe('gpt');
    expect(readFileSync(join(dir, RUN_FILES.model), 'utf8')).toBe('new weights');
    expect(readdirSync(root).filter((n) => n.startsWith(`${dir.slice(root.length + 1)}.`))).toEqual([]);
    // in place: only the manifest is written
    const fresh = join(root, 'in-place');
    const p = await prepareRunDir(fresh, {});
    mkdirSync(fresh);
    writeFileSync(join(fresh, RUN_FILES.config), JSON.stringify(HEADER));
    writeFileSync(join(fresh, RUN_FILES.model), 'w');
    await finishRunDir(p);
    expect(await isRunDir(fresh)).toBe(true);
  });
});

/**
 * `train --model unet` on a folder of images (resized to --image-size, RGB kept) and `--resume`: a run stopped
 * with --stop-after, or SIGKILLed right after a checkpoint, then resumed, ends with the same weights, EMA and
 * optimizer state, byte for byte, as one that was never interrupted.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/data/images/image.ts';
import { cli, expectBadInput, expectOk, ROOT, tmp } from './helpers.ts';

/** A folder `cats/` and `dogs/` of three RGB PNGs each, of odd sizes (10 x 14), seeded colours. */
function writeFolder(dir: string): string {
  let s = 7;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const label of ['cats', 'dogs']) {
    mkdirSync(join(dir, label), { recursive: true });
    for (let i = 0; i < 3; i++) {
      const data = Uint8Array.from({ length: 10 * 14 * 3 }, () => Math.floor(next() * 256));
      writeFileSync(join(dir, label, `${i}.png`), encodePng({ width: 14, height: 10, channels: 3, data }));
    }
  }
  return dir;
}

/** The CLI with `SWITCHYARD_TEST_KILL_AT` set: the process SIGKILLs itself right after that write. */
function killedAt(point: string, args: string[]): void {
  const env = { ...process.env, FORCE_COLOR: '0', SWITCHYARD_TEST_KILL_AT: point };
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/switchyard-dev.js'), ...args], { encoding: 'utf8', env, timeout: 120_000 });
  expect(r.signal, r.stderr).toBe('SIGKILL');
}

const same = (a: string, b: string, file: string) => readFileSync(join(a, file)).equals(readFileSync(join(b, file)));

describe('train --model unet on a folder of images, with --resume', () => {
  const dir = tmp('sy-unet-resume-');
  const folder = writeFolder(join(dir, 'pets'));
  const train = ['train', '--model', 'unet', '--data', folder, '--image-size', '8', '--class-conditional', '--steps', '6',
    '--batch-size', '2', '--steps-per-call', '4', '--json'];
  const straight = join(dir, 'straight');

  beforeAll(() => {
    expectOk(cli([...train, '--out', straight]));
  }, 120_000);

  it('resizes the images to --image-size, keeps RGB, and samples RGB images of that size', () => {
    const cfg = JSON.parse(readFileSync(join(straight, 'config.json'), 'utf8'));
    expect(cfg.unet).toMatchObject({ channels: 3, imageSize: 8, classes: 2 });
    expect(cfg.classNames).toEqual(['cats', 'dogs']);
    expect(cfg.train.images).toBe(6);
    const out = join(dir, 'grid.png');
    expectOk(cli(['sample', '--model', straight, '--out', out, '--count', '4', '--steps', '2', '--class', '1', '--json']));
    const png = PNG.sync.read(readFileSync(out));
    expect([png.width, png.height]).toEqual([2 * 8 + 3 * 2, 2 * 8 + 3 * 2]);
    // RGB: some pixel has channels that differ (a grey image would have R = G = B everywhere)
    const px = Array.from({ length: png.width * png.height }, (_, i) => png.data.subarray(i * 4, i * 4 + 3));
    expect(px.some(([r, g, b]) => r !== g || g !== b)).toBe(true);
  }, 60_000);

  const FILES = ['model.safetensors', 'ema.safetensors', 'checkpoint/optimizer.safetensors', 'checkpoint/ema.safetensors'];

  it('--stop-after 3 then --resume equals the straight run (weights, EMA, optimizer state)', () => {
    const split = join(dir, 'split');
    const first = expectOk(cli([...train, '--out', split, '--stop-after', '3']));
    expect(first.lastLoss).toBeGreaterThan(0);
    expect(same(split, straight, 'model.safetensors')).toBe(false);
    expectOk(cli(['train', '--model', 'unet', '--data', folder, '--out', split, '--resume', '--json']));
    for (const f of FILES) expect(same(split, straight, f), f).toBe(true);
    const steps = (run: string) => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    expect(steps(split)).toEqual([3, 4, 6]);
    // resuming a finished run changes nothing
    expectOk(cli(['train', '--model', 'unet', '--data', folder, '--out', split, '--resume', '--json']));
    for (const f of FILES) expect(same(split, straight, f), f).toBe(true);
  }, 120_000);

  it('a run SIGKILLed right after its update-2 checkpoint resumes to the same result', () => {
    const killed = join(dir, 'killed');
    // checkpoint:commit@1 is the checkpoint at update 0, @2 the one at update 2 (--checkpoint-every 2)
    killedAt('checkpoint:commit@2', [...train, '--out', killed, '--checkpoint-every', '2']);
    expectBadInput(cli(['sample', '--model', killed, '--out', join(dir, 'k.png')]), /no manifest.*interrupted/);
    expectOk(cli(['train', '--model', 'unet', '--data', folder, '--out', killed, '--resume', '--json']));
    for (const f of FILES) expect(same(killed, straight, f), f).toBe(true);
  }, 120_000);

  it('refuses unlabelled images for --class-conditional, --channels 2, and a table as --data', () => {
    const flat = join(dir, 'flat');
    mkdirSync(flat);
    writeFileSync(join(flat, 'a.png'), readFileSync(join(folder, 'cats', '0.png')));
    const base = ['train', '--model', 'unet', '--steps', '1', '--out', join(dir, 'bad')];
    expectBadInput(cli([...base, '--data', flat, '--class-conditional']), /--class-conditional needs labelled images/);
    expectBadInput(cli([...base, '--data', flat, '--channels', '2']), /--channels 2/);
    const csv = join(dir, 't.csv');
    writeFileSync(csv, 'a,b\n1,2\n');
    expectBadInput(cli([...base, '--data', csv]), /not images/);
    expectBadInput(cli([...base, '--data', flat, '--max-image-pixels', '100']), /a.png/);
  }, 60_000);
});

/**
 * Self-supervised pretraining on images, then a classifier with few labels: the MAE patch mask, SimCLR's random
 * resized crop, exact resume, and the CLI end to end on a tiny MNIST subset: `train --model conv-encoder` (SimCLR, MAE),
 * then `train --model conv-classifier --init-from` fine-tuned and as a linear probe — plus bad flags (exit 2).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBuiltinImages } from '../../src/data/images/builtin.ts';
import { encodePng } from '../../src/data/images/image.ts';
import { applyTransform, randomResizedCrop } from '../../src/data/images/transforms.ts';
import { loadSafetensors } from '../../src/runtime/safetensors.ts';
import { patchMask, trainImageSsl } from '../../src/train/image-ssl.ts';
import { Rng } from '../../src/util/rng.ts';
import { cli, expectBadInput, expectOk, tmp } from '../cli/helpers.ts';

const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8'));

describe('patchMask (masked autoencoder)', () => {
  it('masks round(ratio x patches) whole patches per image, seeded', () => {
    const keep = patchMask(3, 28, 4, 0.5, new Rng(1));
    for (let k = 0; k < 3; k++) {
      const img = keep.subarray(k * 784, (k + 1) * 784);
      expect(img.reduce((s, v) => s + (1 - v), 0)).toBe(Math.round(0.5 * 49) * 16); // 25 patches of 16 pixels
      for (let p = 0; p < 49; p++) { // every patch is all kept or all masked
        const [py, px] = [Math.floor(p / 7) * 4, (p % 7) * 4];
        const vals = new Set(Array.from({ length: 16 }, (_, i) => img[(py + Math.floor(i / 4)) * 28 + px + (i % 4)]));
        expect(vals.size).toBe(1);
      }
    }
    expect(patchMask(3, 28, 4, 0.5, new Rng(1))).toEqual(keep);
    expect(patchMask(3, 28, 4, 0.5, new Rng(2))).not.toEqual(keep);
  });

  it('covers partial patches at the edge (patch 5 on 28 px: a 6x6 grid)', () => {
    const keep = patchMask(1, 28, 5, 1 / 36, new Rng(4)); // one patch of the 36
    const masked = keep.reduce((s, v) => s + (1 - v), 0);
    expect([25, 15, 9]).toContain(masked); // a full patch, an edge one (5x3) or the corner (3x3)
  });
});

describe('randomResizedCrop (SimCLR views)', () => {
  const data = Float32Array.from({ length: 72 }, (_, i) => (i % 7) / 7);
  const batch = { n: 2, channels: 1, height: 6, width: 6, data };
  it('keeps the shape; is seeded; a full-area square crop is the identity', () => {
    const a = applyTransform(randomResizedCrop(), batch, 3);
    expect([a.n, a.height, a.width, a.data.length]).toEqual([2, 6, 6, 72]);
    expect(applyTransform(randomResizedCrop(), batch, 3).data).toEqual(a.data);
    expect(applyTransform(randomResizedCrop(), batch, 4).data).not.toEqual(a.data);
    const same = applyTransform(randomResizedCrop({ scale: [1, 1], ratio: [1, 1] }), batch, 5);
    same.data.forEach((v, i) => expect(v).toBeCloseTo(batch.data[i], 6));
  });
  it('refuses a scale outside (0, 1]', () => {
    expect(() => randomResizedCrop({ scale: [0, 1] })).toThrow(/randomResizedCrop: scale/);
  });
});

describe('trainImageSsl: checkpoints and resume', () => {
  it('a run stopped after 3 updates and resumed ends with the weights of an uninterrupted one', async () => {
    const dir = tmp('sy-ssl-resume-');
    const quiet = { threads: 1, progress: { enabled: false } };
    const o = { data: 'mnist', objective: 'simclr' as const, steps: 5, batchSize: 8, limit: 24, ...quiet };
    await trainImageSsl({ ...o, out: join(dir, 'whole') });
    const part = await trainImageSsl({ ...o, out: join(dir, 'parts'), stopAfter: 3 });
    expect(part.updates).toBe(3);
    const rest = await trainImageSsl({ ...o, out: join(dir, 'parts'), resume: true });
    expect(rest.updates).toBe(5);
    const weights = async (run: string) => (await loadSafetensors(join(dir, run, 'model.safetensors'))).tensors;
    const [whole, parts] = [await weights('whole'), await weights('parts')];
    for (const [name, t] of whole) expect(parts.get(name)!.data, name).toEqual(t.data);
    const lines = (run: string) => readFileSync(join(dir, run, 'metrics.jsonl'), 'utf8').trim().split('\n');
    const steps = (run: string) => lines(run).map((l) => JSON.parse(l).step);
    expect(steps('parts')).toEqual([3, 5]);
    expect(steps('whole')).toEqual([5]);
  });
});

describe('CLI: pretrain a conv encoder, then a classifier from it', () => {
  const dir = tmp('sy-ssl-img-');
  // 20 real digits of each class as PNG files in label sub-folders (`--limit` on mnist would take one class only).
  const digits = join(dir, 'digits');
  const mnist = readBuiltinImages('mnist', 'train');
  const per = new Map<string, number>();
  mnist.rows.forEach((row, i) => {
    const n = per.get(row[1]) ?? 0;
    if (n >= 20) return;
    per.set(row[1], n + 1);
    mkdirSync(join(digits, row[1]), { recursive: true });
    writeFileSync(join(digits, row[1], `${n}.png`), encodePng(mnist.images[i]));
  });
  const quiet = ['--threads', '1', '--json', '--quiet'];
  const tiny = ['--data', digits, '--limit', '64', '--steps', '2', '--batch-size', '16', ...quiet];

  it('simclr and mae write a conv-encoder run with metrics.jsonl; a classifier loads its encoder', async () => {
    const runs: Record<string, string> = {};
    for (const objective of ['simclr', 'mae']) {
      runs[objective] = join(dir, objective);
      const args = ['train', '--model', 'conv-encoder', '--objective', objective, ...tiny, '--out', runs[objective]];
      const r = expectOk(cli(args));
      expect(Number.isFinite(r.lastLoss)).toBe(true);
      const cfg = readJson(join(runs[objective], 'config.json'));
      expect([cfg.kind, cfg.objective, cfg.train.images]).toEqual(['conv-encoder', objective, 64]);
      const lines = readFileSync(join(runs[objective], 'metrics.jsonl'), 'utf8').trim().split('\n');
      const records = lines.map((l) => JSON.parse(l));
      expect(records.at(-1).step).toBe(2);
    }
    const base = [
      'train', '--model', 'conv-classifier', '--data', digits, '--labels-fraction', '0.5', '--steps', '2',
      '--batch-size', '8', ...quiet,
    ];
    const ft = join(dir, 'fine-tuned');
    const f = expectOk(cli([...base, '--init-from', runs.simclr, '--out', ft]));
    expect(f.rows).toEqual({ train: 160, labelled: 80, valid: 40 });
    expect(f.valid.accuracy).toBeGreaterThanOrEqual(0);
    const cfg = readJson(join(ft, 'config.json'));
    expect(cfg.kind).toBe('image-classifier');
    expect(cfg.initFrom.loaded).toContain('blocks.0.conv.weight');
    expect(cfg.initFrom.fresh).toEqual(['head.weight', 'head.bias']);
    expect(cfg.initFrom.ignored).toContain('projector.0.weight');

    // A linear probe leaves every encoder weight as pretrained and trains the head.
    const probe = join(dir, 'probe');
    expectOk(cli([...base, '--init-from', runs.mae, '--freeze-encoder', '--out', probe]));
    const pre = (await loadSafetensors(join(runs.mae, 'model.safetensors'))).tensors;
    const post = (await loadSafetensors(join(probe, 'model.safetensors'))).tensors;
    for (const name of ['blocks.0.conv.weight', 'blocks.1.norm.weight', 'fc.weight']) {
      expect(post.get(name)!.data, name).toEqual(pre.get(name)!.data);
    }
    expect(readJson(join(probe, 'config.json')).initFrom.ignored).toContain('decoder.1.weight');
  });

  it('bad input is one error line and exit 2', () => {
    const enc = ['train', '--model', 'conv-encoder', '--out', join(dir, 'bad')];
    expectBadInput(cli([...enc, '--data', 'mnist', '--objective', 'byol']), /--objective expects one of simclr, mae/);
    expectBadInput(cli([...enc, '--data', 'mnist', '--mask-ratio', '1']), /--mask-ratio/);
    const csv = join(dir, 'table.csv');
    writeFileSync(csv, 'a,b\n1,2\n');
    expectBadInput(cli([...enc, '--data', csv]), /not images/);
    const cls = ['train', '--model', 'conv-classifier', '--data', 'mnist', '--out', join(dir, 'bad-cls')];
    expectBadInput(cli([...cls, '--init-from', join(dir, 'nowhere')]), /no such file or directory \(--init-from\)/);
    expectBadInput(cli([...cls, '--labels-fraction', '0']), /--labels-fraction/);
  });
});

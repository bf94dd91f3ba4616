/**
 * Image corruptions: each kind does what its name says on small hand-made images (seeded, inputs untouched), and
 * `eval` of a classifier trained on a folder of images reports them as its robustness section.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePng, type Image } from '../../src/data/images/image.ts';
import { corruptImages, IMAGE_CORRUPTIONS, type ImageCorruption } from '../../src/eval/image-corruptions.ts';
import { runEval } from '../../src/eval/run.ts';
import { trainTabular } from '../../src/train/tabular.ts';

/** A 9 x 9 grey image: `fill` everywhere, `dot` at (4, 4). */
const dotImage = (fill = 0, dot = 200): Image => {
  const data = new Uint8Array(81).fill(fill);
  data[4 * 9 + 4] = dot;
  return { width: 9, height: 9, channels: 1, data };
};
const sum = (img: Image) => img.data.reduce((a, b) => a + b, 0);

describe('corruptImages', () => {
  it('is seeded and never changes its input', () => {
    const img = dotImage(100);
    const copy = Uint8Array.from(img.data);
    for (const kind of Object.keys(IMAGE_CORRUPTIONS) as ImageCorruption[]) {
      const [a, b] = [corruptImages([img], kind, IMAGE_CORRUPTIONS[kind][2], 5), corruptImages([img], kind, IMAGE_CORRUPTIONS[kind][2], 5)];
      expect(a[0].data, kind).toEqual(b[0].data);
      expect(a[0]).toMatchObject({ width: 9, height: 9, channels: 1 });
    }
    expect(img.data).toEqual(copy);
    const noisy = (seed: number) => corruptImages([img], 'image-noise', 0.1, seed)[0].data;
    expect(noisy(1)).not.toEqual(noisy(2));
  });

  it('noise has the asked std; brightness moves every pixel by the offset; contrast shrinks deviations', () => {
    const grey: Image = { width: 40, height: 40, channels: 1, data: new Uint8Array(1600).fill(128) };
    const n = corruptImages([grey], 'image-noise', 0.1, 3)[0].data;
    const std = Math.sqrt(n.reduce((a, v) => a + (v - 128) ** 2, 0) / n.length);
    expect(std / 255).toBeGreaterThan(0.09);
    expect(std / 255).toBeLessThan(0.11);
    const b = corruptImages([grey], 'brightness', 0.2, 3)[0].data;
    expect(new Set(b).size).toBe(1);
    expect(Math.abs(b[0] - 128)).toBe(51);
    const c = corruptImages([dotImage(100, 200)], 'contrast', 0.5, 0)[0];
    const mean = (100 * 80 + 200) / 81;
    expect(c.data[40]).toBe(Math.round(mean + 0.5 * (200 - mean)));
    expect(c.data[0]).toBe(Math.round(mean + 0.5 * (100 - mean)));
  });

  it('blur spreads a dot and keeps its mass; shift moves it by at most the severity; rotation turns a line', () => {
    const dot = dotImage(0, 250);
    const blurred = corruptImages([dot], 'blur', 1, 0)[0];
    expect(blurred.data[40]).toBeLessThan(250);
    expect(blurred.data[39]).toBeGreaterThan(0);
    expect(Math.abs(sum(blurred) - 250)).toBeLessThan(10); // rounding only
    for (let seed = 0; seed < 8; seed++) {
      const moved = corruptImages([dot], 'shift', 2, seed)[0];
      const i = moved.data.indexOf(250);
      expect(sum(moved)).toBe(250);
      expect(Math.abs((i % 9) - 4)).toBeLessThanOrEqual(2);
      expect(Math.abs(Math.floor(i / 9) - 4)).toBeLessThanOrEqual(2);
    }
    const line: Image = { width: 9, height: 9, channels: 1, data: Uint8Array.from({ length: 81 }, (_, i) => (Math.floor(i / 9) === 4 ? 255 : 0)) };
    expect(corruptImages([line], 'rotation', 1e-9, 0)[0].data).toEqual(line.data);
    const turned = corruptImages([line], 'rotation', 30, 0)[0];
    expect(turned.data).not.toEqual(line.data);
    expect(turned.data[4 * 9 + 4]).toBe(255); // the centre stays on the line
  });
});

describe('eval of an image classifier', () => {
  it('reports every image corruption at every severity as the robustness section', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-img-corrupt-'));
    const folder = join(dir, 'shades');
    let s = 11;
    const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const [label, base] of [['dark', 40], ['light', 190]] as const) {
      mkdirSync(join(folder, label), { recursive: true });
      for (let i = 0; i < 6; i++) {
        const data = Uint8Array.from({ length: 64 }, () => base + Math.floor(next() * 40));
        writeFileSync(join(folder, label, `${i}.png`), encodePng({ width: 8, height: 8, channels: 1, data }));
      }
    }
    const out = join(dir, 'run');
    const quiet = { progress: { enabled: false }, threads: 1 };
    await trainTabular({ data: folder, target: 'label', out, epochs: 3, hidden: [8], seed: 0, ...quiet });
    const r = await runEval({ model: out, data: folder, ...quiet });
    const clean = r.scores!.overall.accuracy.estimate;
    const got = r.robustness!.corruptions.map((c) => `${c.kind} ${c.severity}`);
    const want = Object.entries(IMAGE_CORRUPTIONS).flatMap(([k, sev]) => sev.map((v) => `${k} ${v}`));
    expect(got).toEqual(want);
    for (const c of r.robustness!.corruptions) {
      expect(c.metric).toBe('accuracy');
      expect(c.delta).toBeCloseTo(c.value - clean, 12);
    }
  }, 120_000);
});

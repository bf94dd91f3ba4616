/**
 * `--device` at the CLI without a GPU: one flag spec on every verb that computes (bad values are exit 2 with the
 * closest choice suggested), and ONNX files — foreign, exported or int8-compressed — stay on ONNX Runtime: an
 * explicit `webgpu` is a one-line usage error, `auto` runs them on the CPU and says so.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_FLAG, formatHelp, parseArgs } from '../../src/cli/args.ts';
import { compressModel } from '../../src/compress/compress.ts';
import { ByteTokenizer } from '../../src/data/text/tokenizer.ts';
import { GPT, type GptConfig } from '../../src/models/gpt.ts';
import { writeRun } from '../../src/train/checkpoint.ts';
import { exportLm } from '../../src/train/generate.ts';
import { exportTabular } from '../../src/train/tabular-predict.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { cli, expectBadInput, tmp } from './helpers.ts';

const GPT_CFG: GptConfig = {
  vocab: 256, dModel: 16, layers: 1, heads: 2, context: 16, mlpHidden: 32, activation: 'gelu', norm: 'layernorm',
  position: 'learned', tieWeights: false, dropout: 0,
};

describe('the --device flag spec', () => {
  const spec = { device: DEVICE_FLAG } as const;

  it('accepts cpu, webgpu and auto, defaults to cpu, and is listed with its choices in --help', () => {
    expect(parseArgs([], spec).device).toBe('cpu');
    for (const d of ['cpu', 'webgpu', 'auto'] as const) expect(parseArgs(['--device', d], spec).device).toBe(d);
    expect(formatHelp('train', 'x', spec)).toMatch(/--device <cpu\|webgpu\|auto> .*\(default: cpu\)/);
  });

  it('rejects other values, suggesting the closest choice', () => {
    const bad = () => parseArgs(['--device=webgpo'], spec, 'train');
    expect(bad).toThrow(/option --device expects one of cpu, webgpu, auto, got 'webgpo'/);
    try {
      bad();
    } catch (e) {
      expect((e as { code: string; hint: string }).code).toBe('E_USAGE');
      expect((e as { hint: string }).hint).toMatch(/^did you mean --device webgpu\? run switchyard train --help/);
    }
  });
});

describe('--device on every verb that computes', () => {
  const verbs = [
    ['train', '--data', 'x.csv', '--target', 'y', '--out', 'o'],
    ['train', '--model', 'gpt', '--data', 'x.txt', '--out', 'o'],
    ['train', '--model', 'unet', '--data', 'mnist', '--out', 'o'],
    ['sample', '--model', 'm', '--out', 'g.png'],
    ['eval', '--model', 'm', '--data', 'd.csv'],
    ['generate', '--model', 'm'],
    ['serve', '--model', 'm'],
  ];

  it('a bad value is exit 2 with a hint, before any file is read', () => {
    for (const argv of verbs) {
      const r = cli([...argv, '--device', 'gpu']);
      expectBadInput(r, /--device expects one of cpu, webgpu, auto, got 'gpu'/);
      expect(r.stderr).toMatch(/hint: .*run switchyard \w+ --help/);
    }
  });
});

describe('ONNX files run on ONNX Runtime only', () => {
  const dir = tmp('sy-device-onnx-');
  const lmRun = join(dir, 'lm');
  const lmOnnx = join(dir, 'lm.onnx');
  const lmInt8 = join(dir, 'lm.int8.onnx');
  const tabOnnx = join(dir, 'penguins.onnx');
  const csv = join(dir, 't.csv');

  beforeAll(async () => {
    const tokenizer = new ByteTokenizer().toJSON();
    const config = { format: 'switchyard.run', version: 1, kind: 'gpt', gpt: GPT_CFG, tokenizer } as const;
    await writeRun(lmRun, config, new GPT(GPT_CFG).init(3));
    writeFileSync(lmOnnx, (await exportLm(lmRun)).bytes);
    await compressModel({ model: lmRun, out: lmInt8, minElements: 16, progress: { enabled: false } });
    const rows = Array.from({ length: 40 }, (_, i) => `${(i % 7) / 7},${(i % 5) / 5},${i % 3 ? 'a' : 'b'}`);
    writeFileSync(csv, ['x1,x2,label', ...rows].join('\n') + '\n');
    const tab = join(dir, 'tab');
    await trainTabular({ data: csv, target: 'label', out: tab, epochs: 1, hidden: [4], progress: { enabled: false } });
    await exportTabular(tab, tabOnnx);
  }, 120_000);

  it('--device webgpu with an exported, an int8 or a foreign ONNX file is exit 2 naming the file', () => {
    const cases = [
      ['generate', '--model', lmOnnx, '--max-tokens', '1'],
      ['generate', '--model', lmInt8, '--max-tokens', '1'],
      ['eval', '--model', tabOnnx, '--data', csv],
      ['eval', '--model', lmInt8, '--data', csv],
      ['serve', '--model', tabOnnx, '--port', '0', '--quiet'],
    ];
    for (const argv of cases) {
      const r = cli([...argv, '--device', 'webgpu']);
      expectBadInput(r, /\.onnx: an ONNX file runs on ONNX Runtime only, not on --device webgpu/);
      expect(r.stderr).toMatch(/hint: drop --device \(or use --device auto\)/);
    }
  });

  it('--device auto runs an ONNX file on the CPU and says so on stderr', () => {
    const r = cli(['generate', '--model', lmInt8, '--max-tokens', '2', '--temperature', '0', '--device', 'auto']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\(2 tokens, /);
    const note = /note: --device auto: .*lm\.int8\.onnx is an ONNX file, which runs on ONNX Runtime: running on the CP/;
    expect(r.stderr).toMatch(note);
  });
});

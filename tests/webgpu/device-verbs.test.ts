/**
 * `--device webgpu` on the verbs, as a user runs them: eval, generate and serve give the CPU's answers (within fp32
 * tolerance) on the same run; a WebGPU process never loads onnxruntime-node (the import graph of the real CLI
 * process, read from require.cache at exit); `auto` never picks a software adapter and says so. Runs are tiny:
 * lavapipe is slow.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteTokenizer } from '../../src/data/text/tokenizer.ts';
import { GPT, type GptConfig } from '../../src/models/gpt.ts';
import { releaseSharedWebGpuDevice } from '../../src/runtime/compile-for.ts';
import { startServer } from '../../src/serve/server.ts';
import { writeRun } from '../../src/train/checkpoint.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { cli, expectOk, loadedBy, tmp } from '../cli/helpers.ts';
import { expectClose, isOrt, moeOnWebGpu, moeSkipped, tinyTable } from './device-helpers.ts';
import { probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();
afterAll(() => releaseSharedWebGpuDevice());

const GPT_CFG: GptConfig = {
  vocab: 256, dModel: 16, layers: 1, heads: 2, context: 16, mlpHidden: 32, activation: 'gelu', norm: 'layernorm',
  position: 'learned', tieWeights: false, dropout: 0,
};
const MOE_CFG: GptConfig = { ...GPT_CFG, moe: { experts: 4, topK: 2, hidden: 8, layers: 'all' } };

const dir = tmp('sy-device-verbs-');
const csv = join(dir, 't.csv');
const text = join(dir, 'c.txt');
const tab = join(dir, 'tab');
const lm = join(dir, 'lm');
const moe = join(dir, 'moe');


describe.skipIf(!gpu)(title('--device webgpu on eval, generate and serve'), () => {
  beforeAll(async () => {
    writeFileSync(csv, tinyTable(60, 3));
    writeFileSync(text, 'the cat sat on the mat and the dog ran to the park. '.repeat(8));
    await trainTabular({ data: csv, target: 'label', out: tab, epochs: 2, hidden: [8], progress: { enabled: false } });
    const tokenizer = new ByteTokenizer().toJSON();
    const run = { format: 'switchyard.run', version: 1, kind: 'gpt', tokenizer } as const;
    await writeRun(lm, { ...run, gpt: GPT_CFG }, new GPT(GPT_CFG).init(5));
    await writeRun(moe, { ...run, gpt: MOE_CFG }, new GPT(MOE_CFG).init(6));
  }, 120_000);

  it('eval: the same metrics on a tabular run and the same loss on an LM run, without loading ONNX Runtime', () => {
    const args = ['eval', '--model', tab, '--data', csv, '--no-corruptions', '--resamples', '20', '--json'];
    const cpu = expectOk(cli(args)).scores.overall;
    const web = loadedBy([...args, '--device', 'webgpu']);
    expect(web.loaded.filter(isOrt)).toEqual([]);
    const got = expectOk(web).scores.overall;
    expect(got.accuracy.estimate).toBe(cpu.accuracy.estimate);
    for (const m of ['log_loss', 'brier', 'roc_auc']) expectClose(got[m].estimate, cpu[m].estimate, m, 1e-4);
    const lmArgs = ['eval', '--model', lm, '--data', text, '--no-corruptions', '--json'];
    const lmCpu = expectOk(cli(lmArgs)).lm.clean;
    const lmWeb = expectOk(cli([...lmArgs, '--device', 'webgpu'])).lm.clean;
    expectClose(lmWeb.loss, lmCpu.loss, 'LM loss', 1e-4);
    expect(lmWeb.tokens).toBe(lmCpu.tokens);
  }, 240_000);

  /** Greedy tokens of `run` on the CPU and on WebGPU agree, and only the CPU process loads ONNX Runtime. */
  function generatesAlike(run: string): void {
    const args = ['generate', '--model', run, '--prompt', 'the c', '--max-tokens', '3', '--temperature', '0', '--json'];
    const cpu = loadedBy(args);
    const web = loadedBy([...args, '--device', 'webgpu']);
    expect(cpu.loaded.some(isOrt), 'the hook sees ONNX Runtime when it is loaded').toBe(true);
    expect(web.loaded.filter(isOrt)).toEqual([]);
    expect(web.loaded.some((n) => n.startsWith('webgpu'))).toBe(true);
    expect(expectOk(web).text).toBe(expectOk(cpu).text);
  }

  it('generate: the same greedy tokens, and only the CPU run loads ONNX Runtime', () => generatesAlike(lm), 120_000);

  it.skipIf(!moeOnWebGpu)(`generate: the same greedy tokens for MoE${moeSkipped}`,
    () => generatesAlike(moe), 120_000);

  it('serve: /v1/predict gives the CPU answers', async () => {
    const body = { rows: [{ x1: 0.5, x2: -0.2 }, { x1: -0.9, x2: 0.7 }, { x1: 0.1, x2: 0.1 }] };
    const answers: { predictions: string[]; classes: string[]; probabilities: number[][] }[] = [];
    for (const device of ['cpu', 'webgpu'] as const) {
      const s = await startServer({ model: tab, port: 0, signals: false, pollMs: 0, log: () => {}, load: { device } });
      try {
        const headers = { 'content-type': 'application/json' };
        const r = await fetch(`${s.url}/v1/predict`, { method: 'POST', headers, body: JSON.stringify(body) });
        expect(r.status).toBe(200);
        answers.push((await r.json()) as (typeof answers)[number]);
      } finally {
        await s.close();
      }
    }
    const [cpu, web] = answers;
    expect(web.predictions).toEqual(cpu.predictions);
    expect(web.classes).toEqual(cpu.classes);
    const want = cpu.probabilities.flat();
    web.probabilities.flat().forEach((p, i) => expectClose(p, want[i], `probability ${i}`, 1e-5));
  }, 120_000);

  it('auto never picks a software adapter: it says why and the run records the CPU', () => {
    const out = join(dir, 'auto');
    const r = cli(['train', '--data', csv, '--target', 'label', '--out', out, '--epochs', '1', '--device', 'auto']);
    expect(r.code, r.stderr).toBe(0);
    const recorded = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).device;
    if (gpu!.adapter.software) {
      const note = /note: --device auto: the only WebGPU adapter \(.+\) is a software rasterizer; running on the CPU/;
      expect(r.stderr).toMatch(note);
      expect(recorded).toEqual({ name: 'cpu' });
    } else {
      expect(recorded).toEqual({ name: 'webgpu', adapter: gpu!.adapter.description });
    }
  }, 120_000);
});

import { readFileSync } from 'node:fs';
import { releaseSharedWebGpuDevice } from '../runtime/compile-for.ts';
import { SwitchyardError } from '../util/errors.ts';
import { flagGiven, flagValue, unknownName } from './args.ts';
import { runCli } from './output.ts';

// Every verb is imported when it runs, so `--help` and `--version` load neither ONNX Runtime nor any other
// heavy module (the built CLI answers them in about a tenth of a second; see BENCHMARKS.md, Package).
const VERBS: Record<string, { run: (argv: string[]) => Promise<number>; summary: string }> = {
  demo: { run: async (argv) => (await import('./demo-verb.ts')).demoVerb(argv), summary: 'train, evaluate and export a classifier on real data, end to end' },
  train: { run: trainRoute, summary: 'train an MLP on a table, a GPT or encoder on text (--model gpt|encoder), a text or image classifier' },
  sample: { run: async (argv) => (await import('./diffusion-verbs.ts')).sampleVerb(argv), summary: 'draw images from a diffusion run (train --model unet) as a PNG grid' },
  generate: { run: async (argv) => (await import('./lm-verbs.ts')).generateVerb(argv), summary: 'generate text with a trained language model' },
  predict: { run: async (argv) => (await import('./train-verbs.ts')).predictVerb(argv), summary: 'predict labels and class probabilities with a trained run' },
  export: { run: async (argv) => (await import('./train-verbs.ts')).exportVerb(argv), summary: 'write the inference graph of a trained run as ONNX (tabular model or LM decode step)' },
  compress: { run: async (argv) => (await import('./compress-verb.ts')).compressVerb(argv), summary: 'quantize a trained model to int8 ONNX (about 4x smaller) and check it against the float32 model' },
  registry: { run: async (argv) => (await import('./registry-verb.ts')).registryVerb(argv), summary: 'versioned models: register, alias (promote), rollback, list, show, history, archive' },
  serve: { run: async (argv) => (await import('./serve-verb.ts')).serveVerb(argv), summary: 'serve a model over HTTP: predict, generate (SSE), metrics; canary, shadow, automatic rollback' },
  monitor: { run: async (argv) => (await import('./monitor-verb.ts')).monitorVerb(argv), summary: 'drift report (drift.json + drift.html) of logged traffic; incidents list, ack, resolve' },
  eval: { run: async (argv) => (await import('./eval-verb.ts')).evalVerb(argv), summary: 'evaluate a model: metrics with CIs, slices, calibration, fairness, robustness, OOD' },
  compare: { run: async (argv) => (await import('./compare-verb.ts')).compareVerb(argv), summary: 'regression gate: paired comparison of two models on the same data, overall and per slice (exit 3 if worse)' },
  audit: { run: async (argv) => (await import('./audit-verb.ts')).auditVerb(argv), summary: 'audit data before training: integrity, duplicates, leakage, contamination, label issues, bias, drift (audit.json + audit.html)' },
  datasheet: { run: async (argv) => (await import('./datasheet-verb.ts')).datasheetVerb(argv), summary: 'write a Datasheet for Datasets from an audit plus your answers (YAML); flags empty sections' },
  card: { run: async (argv) => (await import('./card-verb.ts')).cardVerb(argv), summary: "write a model card of a registry version from its linked reports (every number linked to its source) plus your answers" },
  governance: { run: async (argv) => (await import('./governance-verb.ts')).governanceVerb(argv), summary: 'NIST AI RMF / ISO/IEC 42001 risk profile of a registry version: evidenced, partial or missing; --fail-on gate (exit 3)' },
  ui: { run: async (argv) => (await import('./ui-verb.ts')).uiVerb(argv), summary: 'a local dashboard: runs with live loss curves, the registry with promote and rollback (loopback; token beyond)' },
};

/**
 * `train` by `--model`: none is tabular, `text-classifier` fine-tunes on labelled text, `conv-encoder` pretrains on
 * unlabelled images and `conv-classifier` classifies images, `unet` is diffusion, the rest are language models.
 */
async function trainRoute(argv: string[]): Promise<number> {
  if (flagValue(argv, 'model') === 'unet') return (await import('./diffusion-verbs.ts')).unetTrainVerb(argv);
  if (flagValue(argv, 'model') === 'text-classifier') return (await import('./text-classifier-verb.ts')).textClassifierTrainVerb(argv);
  if (flagValue(argv, 'model') === 'conv-encoder') return (await import('./image-ssl-verbs.ts')).convEncoderTrainVerb(argv);
  if (flagValue(argv, 'model') === 'conv-classifier') return (await import('./image-ssl-verbs.ts')).convClassifierTrainVerb(argv);
  if (flagGiven(argv, 'model')) return (await import('./lm-verbs.ts')).lmTrainVerb(argv);
  return (await import('./train-verbs.ts')).trainVerb(argv);
}

function usage(): string {
  const lines = ['usage: switchyard <verb> [options]   (switchyard help <verb>, or switchyard <verb> --help, for its options)', '', 'verbs:'];
  for (const [v, { summary }] of Object.entries(VERBS)) lines.push(`  ${v.padEnd(9)} ${summary}`);
  lines.push('', 'every verb takes --json (one JSON object on stdout) and --quiet (no progress on stderr)');
  return lines.join('\n') + '\n';
}

/** The verb named `name`, or E_USAGE suggesting the closest verb (as the flag parser does for flags). */
function findVerb(name: string): (typeof VERBS)[string] {
  if (Object.hasOwn(VERBS, name)) return VERBS[name];
  throw unknownName('verb', name, Object.keys(VERBS));
}

/**
 * Longest command line (bytes of the arguments) accepted. ONNX Runtime 1.30 crashes the process (SIGSEGV) when it
 * creates a session under a command line of about 30 KB, so long text (a prompt) is passed in a file instead.
 */
const MAX_COMMAND_LINE = 16384;

await runCli(async () => {
  const bytes = process.argv.slice(2).reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
  if (bytes > MAX_COMMAND_LINE) {
    throw new SwitchyardError('E_USAGE', `the command line is ${bytes} bytes, more than the ${MAX_COMMAND_LINE} accepted`, 'pass long text in a file, e.g. switchyard generate --prompt-file prompt.txt');
  }
  const [verb, ...rest] = process.argv.slice(2);
  // `switchyard help train --model gpt` is `switchyard train --model gpt --help`.
  if (verb === 'help' && rest.length && !rest[0].startsWith('-')) return findVerb(rest[0]).run([...rest.slice(1), '--help']);
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    process.stdout.write(usage());
    return verb ? 0 : 2;
  }
  if (verb === '--version' || verb === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`switchyard ${pkg.version}\n`);
    return 0;
  }
  try {
    return await findVerb(verb).run(rest);
  } finally {
    // Dawn crashes at process exit while a device is alive: give back the one a --device webgpu verb acquired.
    await releaseSharedWebGpuDevice();
  }
});

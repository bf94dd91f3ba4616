/**
 * docs/api.md lists signatures, not only names: parameters with types, return types, the fields of option types
 * (with their TSDoc) and the TSDoc examples of every public export, read with the TypeScript compiler.
 */
import { describe, expect, it } from 'vitest';
import { render } from '../../scripts/api-docs.ts';
import { readApi, type ApiEntry } from '../../scripts/api-model.ts';

const modules = readApi();
const md = render(modules).md;
const entry = (module: string, name: string): ApiEntry => {
  const e = modules.find((m) => m.name === module)?.entries.find((x) => x.name === name);
  if (!e) throw new Error(`${module}.${name} is not in the API`);
  return e;
};

describe('the API model', () => {
  it('has the package root, its namespaces nn, optim, data and stats, and the sub-path switchyard/serve', () => {
    expect(modules.map((m) => m.name)).toEqual(['switchyard', 'data', 'nn', 'optim', 'stats', 'switchyard/serve']);
    for (const m of modules) expect(m.entries.length).toBeGreaterThan(3);
  });

  it('gives every public function a signature and every public interface its fields', () => {
    for (const m of modules) {
      for (const e of m.entries) {
        if (e.kind === 'function') expect(e.signatures.length, `${m.name}.${e.name}`).toBeGreaterThan(0);
        if (e.kind === 'interface') expect(e.fields.length, `${m.name}.${e.name}`).toBeGreaterThan(0);
      }
    }
  });

  it('reads parameters, defaults and return types as written', () => {
    const [sig] = entry('switchyard', 'predictTabular').signatures;
    expect(sig.params.map((p) => [p.name, p.type, p.optional, p.defaultText])).toEqual([
      ['runDir', 'string', false, undefined],
      ['dataPath', 'string', false, undefined],
      ['opts', '{ threads?: number; maxImagePixels?: number }', true, '{}'],
    ]);
    expect(sig.returns).toBe('Promise<TabularPredictions>');
    // An inline option type has no entry of its own: its fields are listed with the function.
    expect(sig.params[2].fields?.map((f) => f.name)).toEqual(['threads', 'maxImagePixels']);
    // A documented option type is linked instead.
    const [opts] = entry('switchyard', 'trainTabular').signatures[0].params;
    expect(opts).toMatchObject({ type: 'TabularTrainOptions', fields: undefined });
  });

  it('documents every field of the main option types, inherited ones included', () => {
    const options = ['TabularTrainOptions', 'LmTrainOptions', 'CompileOptions', 'TrainStepOptions', 'EvalOptions',
      'ServerOptions', 'RegistryOptions', 'CompressOptions'];
    for (const name of options) {
      const module = name === 'ServerOptions' ? 'switchyard/serve' : 'switchyard';
      const undocumented = entry(module, name).fields.filter((f) => !f.doc).map((f) => f.name);
      expect(undocumented, name).toEqual([]);
    }
    const eval_ = entry('switchyard', 'EvalOptions').fields;
    expect(eval_.find((f) => f.name === 'resamples')).toMatchObject({ type: 'number', optional: true });
    expect(eval_.find((f) => f.name === 'bootstrap')?.doc).toMatch(/^\*\*Deprecated:\*\*/);
    const tabular = entry('switchyard', 'TabularTrainOptions').fields.map((f) => f.name);
    expect(tabular).toEqual(expect.arrayContaining(['data', 'threads', 'hidden']));
  });

  it('shows public class members and constructors, hiding private constructors', () => {
    const linear = entry('nn', 'Linear');
    expect(linear.signatures[0].params.map((p) => p.name)).toEqual(['inFeatures', 'outFeatures', 'opts']);
    const step = entry('switchyard', 'TrainStep');
    expect(step.signatures).toEqual([]);
    const compile = { isStatic: true, text: 'compile(o: TrainStepOptions): Promise<TrainStep>' };
    expect(step.members).toContainEqual(expect.objectContaining(compile));
  });
});

describe('docs/api.md', () => {
  it('has a table of contents and one section per module file, with signatures, field tables and examples', () => {
    expect(md).toMatch(/^## Contents$/m);
    expect(md).toContain('  - [src/train/tabular.ts](#file-switchyard-train-tabular): ');
    expect(md).toContain('<a id="file-nn-nn-layers"></a>\n## nn: src/nn/layers.ts');
    expect(md).toContain('```ts\ntrainTabular(opts: TabularTrainOptions): Promise<TabularTrainSummary>\n```');
    expect(md).toContain('| `opts` | [`TabularTrainOptions`](#switchyard-tabulartrainoptions-type) |  |  |');
    expect(md).toMatch(/\| `data` \| `string` \| required \| Training table: CSV, TSV, JSONL or Parquet/);
    expect(md).toContain("const summary = await trainTabular({ data: 'train.csv'");
  });
});

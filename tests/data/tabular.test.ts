import { describe, expect, it } from 'vitest';
import { parseCsv, type Table } from '../../src/data/csv.ts';
import { inferSchema } from '../../src/data/schema.ts';
import { fitTabularEncoder, TabularEncoder } from '../../src/data/tabular.ts';
import { caught } from '../expect-error.ts';


const csv = (text: string, file = 'train.csv'): Table => parseCsv(text, { file });

const TRAIN = csv(
  [
    'id,age,color,member,notes,label',
    'r1,10,red,yes,,cat',
    'r2,20,blue,no,,dog',
    'r3,,red,yes,,cat',
    'r4,30,green,,,fish',
    'r5,40,red,no,,dog',
  ].join('\n'),
);

describe('fitTabularEncoder', () => {
  const schema = inferSchema(TRAIN, { id: 'identifier' });
  const enc = fitTabularEncoder(TRAIN, schema, 'label');

  it('builds features: standardised numeric + missing flag, one-hot, boolean + missing flag', () => {
    expect(enc.task).toBe('classification');
    expect(enc.classes).toEqual(['cat', 'dog', 'fish']);
    expect(enc.featureNames).toEqual([
      'age', 'age__missing', 'color=red', 'color=blue', 'color=green', 'color=__other__', 'member', 'member__missing',
    ]);
    expect(enc.dropped.map((d) => [d.column, d.kind])).toEqual([['id', 'identifier'], ['notes', 'ignore']]);
    expect(enc.numFeatures).toBe(8);
    expect(enc.outputSize).toBe(3);
  });

  it('encodes training rows', () => {
    const { x, rows, features, y } = enc.encode(TRAIN);
    expect([rows, features]).toEqual([5, 8]);
    expect(Array.from(y!)).toEqual([0, 1, 0, 2, 1]);
    const mean = 25;
    const std = Math.sqrt((15 ** 2 + 5 ** 2 + 5 ** 2 + 15 ** 2) / 4);
    const row = (r: number) => Array.from(x.subarray(r * 8, r * 8 + 8));
    expect(row(0)).toEqual([Math.fround((10 - mean) / std), 0, 1, 0, 0, 0, 1, 0]);
    expect(row(2)).toEqual([0, 1, 1, 0, 0, 0, 1, 0]);
    expect(row(3)).toEqual([Math.fround((30 - mean) / std), 0, 0, 0, 1, 0, 0, 1]);
  });

  it('encodes new data: columns by name, unknown category to __other__, target optional', () => {
    const test = csv('label,member,color,age,extra\ndog,no,purple,25,1\ncat,yes,?,NA,2\n', 'test.csv');
    const { x, y } = enc.encode(test);
    expect(Array.from(x.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 1, 0, 0]);
    expect(Array.from(x.subarray(8, 16))).toEqual([0, 1, 0, 0, 0, 1, 1, 0]); // missing color, no __missing__ bucket
    expect(Array.from(y!)).toEqual([1, 0]);
    const noTarget = enc.encode(csv('age,color,member\n25,red,yes\n', 'predict.csv'));
    expect(noTarget.y).toBeUndefined();
    expect(enc.encode(test, { target: false }).y).toBeUndefined();
  });

  it('round-trips through JSON with identical encodings', () => {
    const json = JSON.parse(JSON.stringify(enc));
    expect(json.format).toBe('switchyard.tabular-encoder');
    const back = TabularEncoder.fromJSON(json);
    expect(back.featureNames).toEqual(enc.featureNames);
    expect(back.classes).toEqual(enc.classes);
    const a = enc.encode(TRAIN);
    const b = back.encode(TRAIN);
    expect(b.x).toEqual(a.x);
    expect(b.y).toEqual(a.y);
    expect(JSON.stringify(back)).toBe(JSON.stringify(enc));
  });

  it('rejects damaged JSON with E_ENCODER_FORMAT', () => {
    const good = enc.toJSON();
    expect(caught(() => TabularEncoder.fromJSON(null)).code).toBe('E_ENCODER_FORMAT');
    expect(caught(() => TabularEncoder.fromJSON({ ...good, version: 2 })).code).toBe('E_ENCODER_FORMAT');
    const badFeature = { ...good, features: [{ kind: 'numeric', column: 'age', mean: 1, std: 0, missingIndicator: false }] };
    expect(caught(() => TabularEncoder.fromJSON(badFeature)).message).toMatch(/features\[0\]/);
  });

  it('E_CSV_COLUMN when a feature column is missing at encode time', () => {
    const e = caught(() => enc.encode(csv('age,colour,member\n1,red,yes\n', 'predict.csv')));
    expect(e.code).toBe('E_CSV_COLUMN');
    expect(e.message).toBe("predict.csv: no column 'color', which the model was trained with; columns are: age, colour, member");
    expect(e.hint).toMatch(/did you mean 'colour'\?/);
  });

  it('E_CSV_VALUE with file:line:column for a non-number in a numeric column', () => {
    const e = caught(() => enc.encode(csv('age,color,member\n1,red,yes\n2,red,no\nabc,red,no\n', 'predict.csv')));
    expect(e.code).toBe('E_CSV_VALUE');
    expect(e.message).toBe("predict.csv:4:1: column 'age': 'abc' is not a number");
    const b = caught(() => enc.encode(csv('age,color,member\n1,red,maybe\n', 'predict.csv')));
    expect(b.message).toMatch(/^predict\.csv:2:3: column 'member': 'maybe' is not a boolean/);
  });

  it('E_CSV_VALUE for an unseen class and a missing target', () => {
    const e = caught(() => enc.encode(csv('age,color,member,label\n1,red,yes,cow\n', 'test.csv')));
    expect(e.message).toBe("test.csv:2:4: column 'label': class 'cow' was not seen in training");
    expect(e.hint).toMatch(/cat, dog, fish/);
    const m = caught(() => fitTabularEncoder(csv('a,label\n1,x\n2,\n3,y\n'), inferSchema(csv('a,label\n1,x\n2,\n3,y\n')), 'label'));
    expect(m.message).toBe("train.csv:3:2: column 'label': the target value is missing ('')");
  });
});

describe('categorical options', () => {
  it('caps at the most frequent categories, adds __missing__ when training had missing values', () => {
    const cells = ['a', 'a', 'a', 'b', 'b', 'c', 'd', '', 'NA'];
    const t = csv('c,y\n' + cells.map((c, i) => `${c},${i % 2}`).join('\n') + '\n');
    const enc = fitTabularEncoder(t, inferSchema(t), 'y', 'auto', { maxCategories: 2 });
    expect(enc.featureNames).toEqual(['c=a', 'c=b', 'c=__other__', 'c=__missing__']);
    const { x } = enc.encode(t);
    const hot = Array.from({ length: 9 }, (_, r) => Array.from(x.subarray(r * 4, r * 4 + 4)).indexOf(1));
    expect(hot).toEqual([0, 0, 0, 1, 1, 2, 2, 3, 3]);
    const min2 = fitTabularEncoder(t, inferSchema(t), 'y', 'auto', { minCount: 2 });
    expect(min2.featureNames).toEqual(['c=a', 'c=b', 'c=__other__', 'c=__missing__']);
  });
});

describe('task and target', () => {
  const rows = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n');

  it('auto: numeric target with > 20 distinct values is regression, standardised and decodable', () => {
    const t = csv('x,price\n' + rows(50, (i) => `${i % 7},${100 + i * 2}`) + '\n');
    const enc = fitTabularEncoder(t, inferSchema(t), 'price');
    expect(enc.task).toBe('regression');
    expect(enc.classes).toEqual([]);
    expect(enc.outputSize).toBe(1);
    const { y } = enc.encode(t);
    expect(y).toBeInstanceOf(Float32Array);
    const ys = Array.from(y!);
    expect(ys.reduce((a, b) => a + b, 0) / ys.length).toBeCloseTo(0, 5);
    expect(Math.sqrt(ys.reduce((a, b) => a + b * b, 0) / ys.length)).toBeCloseTo(1, 5);
    const back = enc.decodeTarget(y!);
    expect(back[0]).toBeCloseTo(100, 3);
    expect(back[49]).toBeCloseTo(198, 3);
    expect(TabularEncoder.fromJSON(JSON.parse(JSON.stringify(enc))).decodeTarget([0])[0]).toBeCloseTo(149, 6);
  });

  it('auto: numeric target with few values is classification with numeric class order', () => {
    const t = csv('x,grade\n' + rows(30, (i) => `${i % 5},${[1, 2, 10][i % 3]}`) + '\n');
    const enc = fitTabularEncoder(t, inferSchema(t), 'grade');
    expect(enc.task).toBe('classification');
    expect(enc.classes).toEqual(['1', '2', '10']);
    expect(enc.decodeLabels([2, 0])).toEqual(['10', '1']);
    expect(caught(() => enc.decodeTarget([0])).code).toBe('E_TASK');
  });

  it('forced regression on a non-numeric target names the bad cell', () => {
    const t = csv('x,label\n1,2.5\n2,high\n');
    const e = caught(() => fitTabularEncoder(t, inferSchema(t), 'label', 'regression'));
    expect(e.message).toBe("train.csv:3:2: column 'label': 'high' is not a number");
  });

  it('rejects single-class, identifier and missing targets', () => {
    const one = csv('x,y\n1,a\n2,a\n');
    expect(caught(() => fitTabularEncoder(one, inferSchema(one), 'y')).code).toBe('E_TARGET_KIND');
    const ids = csv('x,name\n' + rows(30, (i) => `${i % 4},n${i}`) + '\n');
    expect(caught(() => fitTabularEncoder(ids, inferSchema(ids), 'name')).code).toBe('E_TARGET_KIND');
    expect(caught(() => fitTabularEncoder(one, inferSchema(one), 'lable')).code).toBe('E_TARGET_MISSING');
  });
});

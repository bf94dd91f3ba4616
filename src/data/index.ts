/**
 * The tabular data path: CSV/TSV reading, schema inference, the fitted feature/target encoder, splits,
 * batching, demo datasets, and image data (folders of PNG/JPEG, MNIST, Fashion-MNIST, seeded transforms).
 *
 * @example
 * import { readCsv, inferSchema, fitTabularEncoder, stratifiedSplit } from './data/index.ts';
 * const table = await readCsv('train.csv');
 * const enc = fitTabularEncoder(table, inferSchema(table), 'label');
 * const { x, y, features } = enc.encode(table);
 */
export * from './batches.ts';
export * from './csv.ts';
export * from './csv-write.ts';
export * from './demo.ts';
export * from './features.ts';
export * from './images/index.ts';
export * from './schema.ts';
export * from './split.ts';
export * from './tabular.ts';
export * from './text-features.ts';
export * from './text/index.ts';
export * from './values.ts';

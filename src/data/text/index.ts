/**
 * The text path for language modelling: corpora of UTF-8 files, byte and byte-level BPE tokenizers,
 * a streaming decoder for generated ids, and next-token batches.
 *
 * @example
 * import { loadTextCorpus, sotuPath, splitDocuments, trainBpe, tokenizeCorpus, randomStarts, lmBatch } from './data/index.ts';
 * const corpus = await loadTextCorpus([sotuPath()!]);
 * const { train, valid } = splitDocuments(corpus, 0.1, new Rng(0));
 * const tok = trainBpe(train.documents.map((d) => d.text), 4096);
 * const ids = tokenizeCorpus(train, tok);
 * const { x, y } = lmBatch(ids, randomStarts(ids.length, 256, 32, new Rng(1)), 256);
 */
export * from './bpe.ts';
export * from './corpus.ts';
export * from './hf-tokenizer.ts';
export * from './lm-batches.ts';
export * from './masking.ts';
export * from './spam-assassin.ts';
export * from './pretokenize.ts';
export * from './tokenizer.ts';

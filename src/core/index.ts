/** Core: the IR, tracing, the op set and autodiff. Knows nothing of ONNX Runtime. */
export * from './dtype.ts';
export * from './shape.ts';
export * from './graph.ts';
export * from './ops/index.ts';
export * from './autodiff.ts';

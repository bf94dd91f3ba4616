/** The float64 reference interpreter of the IR: ground truth for gradient checks and ONNX results (tests only). */
export { referenceOps, runReference } from './interpreter.ts';
export { erf } from './erf.ts';
export { type Kernel, type KernelContext, type RefTensor, type RefValue, refTensor } from './tensor.ts';

/** The op set: every op's shape rule, gradient rule and user-facing function. */
export * from './registry.ts';
export * from './constant.ts';
export * from './elementwise.ts';
export * from './reduce.ts';
export * from './shape.ts';
export * from './matmul.ts';
export * from './nn.ts';
export * from './indexing.ts';
export * from './random.ts';
export * from './control.ts';
export * from './conv.ts';

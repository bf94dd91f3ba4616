import type { Rng } from '../util/rng.ts';

/** Produces initial values for a parameter of `shape`. */
export type Initializer = (rng: Rng, shape: number[]) => Float32Array;

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** All zeros. */
export const zeros: Initializer = (_rng, s) => new Float32Array(size(s));
/** All ones. */
export const ones: Initializer = (_rng, s) => new Float32Array(size(s)).fill(1);
/** N(0, std^2). */
export const normal = (std: number): Initializer => (rng, s) => Float32Array.from({ length: size(s) }, () => rng.normal() * std);
/** U(-bound, bound). */
export const uniform = (bound: number): Initializer => (rng, s) => Float32Array.from({ length: size(s) }, () => (rng.next() * 2 - 1) * bound);
/** PyTorch's default for Linear weights and biases: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export const kaimingUniform = (fanIn: number): Initializer => uniform(1 / Math.sqrt(fanIn));
/** Glorot/Xavier uniform: U(-sqrt(6/(fanIn+fanOut)), +). */
export const xavierUniform = (fanIn: number, fanOut: number): Initializer => uniform(Math.sqrt(6 / (fanIn + fanOut)));

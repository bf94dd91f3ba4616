/** Statistics: special functions, drift tests and distances, paired tests, the bootstrap, the Fréchet distance. */
export * from './special.ts';
export * from './quantile.ts';
export * from './drift.ts';
export * from './mmd.ts';
export * from './paired.ts';
export * from './bootstrap.ts';
export * from './frechet.ts';

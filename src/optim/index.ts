/** Optimizers compiled into the step graph, gradient clipping, learning-rate schedules. */
export * from './optimizer.ts';
export * from './schedule.ts';

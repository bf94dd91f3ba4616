import { currentScope, type Tensor } from '../core/graph.ts';
import type { Parameter } from './module.ts';

/**
 * What a forward pass produces besides its result: auxiliary losses (already weighted, added to the training
 * loss), telemetry metrics (recorded per step), and new values for buffers (non-trainable parameters such as
 * MoE routing biases), written back after the step.
 */
export interface ForwardExtras {
  losses: { name: string; value: Tensor }[];
  metrics: Record<string, Tensor>;
  updates: Map<Parameter, Tensor>;
}

const stack: ForwardExtras[] = [];

/** Runs `fn` and returns its result together with the extras layers reported while it ran. */
export function collectExtras<T>(fn: () => T): { value: T; extras: ForwardExtras } {
  const extras: ForwardExtras = { losses: [], metrics: {}, updates: new Map() };
  stack.push(extras);
  try {
    return { value: fn(), extras };
  } finally {
    stack.pop();
  }
}

function scoped(name: string): string {
  const s = currentScope();
  return s ? `${s}.${name}` : name;
}

/** Adds a (weighted) auxiliary loss term; ignored when nobody collects (inference). */
export function addAuxLoss(name: string, value: Tensor): void {
  stack[stack.length - 1]?.losses.push({ name: scoped(name), value });
}

/** Records a telemetry value under the current module path (e.g. `blocks.0.moe.tokens_per_expert`). */
export function addMetric(name: string, value: Tensor): void {
  const top = stack[stack.length - 1];
  if (top) top.metrics[scoped(name)] = value;
}

/** Sets the value a buffer takes after this step. */
export function setBufferUpdate(p: Parameter, value: Tensor): void {
  stack[stack.length - 1]?.updates.set(p, value);
}

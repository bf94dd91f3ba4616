import { SwitchyardError } from '../../util/errors.ts';
import type { DType } from '../dtype.ts';
import { type Attrs, currentGraph, currentScope, type Tensor } from '../graph.ts';
import type { Shape } from '../shape.ts';

/** Output type computed by an op's shape rule. */
export interface OutType {
  dtype: DType;
  shape: Shape;
}

/**
 * Gradient rule: given the node's inputs, outputs, the gradients flowing into its outputs (null = zero) and
 * which inputs need a gradient, return one gradient (or null) per input, written in ops.
 */
export type GradRule = (ctx: {
  inputs: Tensor[];
  outputs: Tensor[];
  grads: (Tensor | null)[];
  attrs: Attrs;
  needs: boolean[];
}) => (Tensor | null)[];

/** Definition of one IR op: its shape/dtype rule and (for differentiable ops) its gradient rule. */
export interface OpDef {
  name: string;
  /** Checks inputs and attrs and returns output types; `where` names the op and module path for errors. */
  infer(inputs: Tensor[], attrs: Attrs, where: string): OutType[];
  /** Absent: the op is not differentiable (integer or boolean results). */
  grad?: GradRule;
}

const registry = new Map<string, OpDef>();

/** Registers an op definition (each op name once). */
export function defineOp(def: OpDef): OpDef {
  if (registry.has(def.name)) throw new Error(`op ${def.name} defined twice`);
  registry.set(def.name, def);
  return def;
}

/** Looks up an op definition. */
export function getOp(name: string): OpDef {
  const d = registry.get(name);
  if (!d) throw new SwitchyardError('E_OP', `unknown op '${name}'`, 'see core/ops for the op set');
  return d;
}

/** All registered op names (for coverage tests). */
export function opNames(): string[] {
  return [...registry.keys()];
}

/** Adds one node of `op` to the current graph and returns its outputs. */
export function apply(op: string, inputs: Tensor[], attrs: Attrs = {}): Tensor[] {
  const g = currentGraph();
  const owned = inputs.map((t) => g.own(t));
  const scope = currentScope();
  const where = scope ? `${scope}: ${op}` : op;
  const types = getOp(op).infer(owned, attrs, where);
  return g.addNode(op, owned, attrs, types, scope);
}

/** {@link apply} for single-output ops. */
export function apply1(op: string, inputs: Tensor[], attrs: Attrs = {}): Tensor {
  return apply(op, inputs, attrs)[0];
}

/** Throws an E_SHAPE/E_DTYPE error naming `where`. */
export function fail(where: string, what: string, hint: string, code = 'E_SHAPE'): never {
  throw new SwitchyardError(code, `${where}: ${what}`, hint);
}

/** Requires `t` to have one of `dtypes`. */
export function expectDtype(where: string, t: Tensor, dtypes: DType[], role = 'input'): void {
  if (!dtypes.includes(t.dtype)) fail(where, `${role} has dtype ${t.dtype}, expected ${dtypes.join(' or ')}`, 'cast the value first (cast(x, "f32"))', 'E_DTYPE');
}

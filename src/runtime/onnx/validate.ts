/**
 * Spec-level validation of an {@link OnnxModel} before it is encoded or exported. ONNX Runtime is
 * not a sufficient judge: it accepts some graphs the ONNX spec forbids (nodes out of topological
 * order, ScatterElements reduction='max' below opset 18, LayerNormalization below opset 17), so
 * every exported graph goes through {@link validateModel}.
 *
 * Checks, recursively into Loop/If subgraphs:
 * - names: SSA (each value defined once across a graph and its enclosing scopes; graph inputs and
 *   initializers are not redefined), every node input defined before use (graph input,
 *   initializer, earlier node output, or a name visible in an enclosing scope), graph outputs
 *   defined, topological order;
 * - operators: known op (default domain, or `ai.onnx.ml` when the model imports it), available at its opset, input/output counts, `''` only at
 *   optional positions, attributes allowed/required/typed/valued per the opset table in
 *   {@link ./opsets.ts}, plus op-specific rules (Loop/If subgraph arity, Split-18 `num_outputs`,
 *   Constant's single value, Cast `to`);
 * - data: tensor dtype/typed-array/dims consistency; main graph inputs/outputs have a shape.
 *
 * @module
 */
import { SwitchyardError } from '../../util/errors.ts';
import type { OnnxAttr, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from './proto.ts';
import { DTYPE_ARRAY, elementCount } from './proto-consts.ts';
import { MAX_ML_OPSET, MAX_OPSET, MIN_ML_OPSET, MIN_OPSET, ML_DOMAIN, ML_OPS, OPS, type OpVersion, opVersionAt, parseFormals } from './opsets.ts';

function fail(where: string, problem: string, hint: string): never {
  throw new SwitchyardError('E_ONNX_INVALID', `${where}: ${problem}`, hint);
}

/** Lexical scope of value names: this graph's definitions, then the enclosing graphs'. */
class Scope {
  private readonly defs = new Map<string, string>();
  constructor(private readonly parent: Scope | null) {}
  /** Where `name` is defined (e.g. `node #3 (Add)`), searching enclosing scopes too. */
  lookup(name: string): string | undefined {
    return this.defs.get(name) ?? this.parent?.lookup(name);
  }
  hasLocal(name: string): boolean {
    return this.defs.has(name);
  }
  define(name: string, what: string): void {
    this.defs.set(name, what);
  }
}

interface Ctx {
  opset: number;
  /** The imported `ai.onnx.ml` opset, if any. */
  mlOpset?: number;
}

/** An operator's interface versions, whichever domain's table holds it. */
function versionsOf(op: string): readonly OpVersion[] {
  return OPS[op] ?? ML_OPS[op];
}

function describeNode(n: OnnxNode, i: number): string {
  return `node #${i} ${n.opType}${n.name ? ` '${n.name}'` : ''}`;
}

function checkTensor(t: OnnxTensor, where: string): void {
  if (t.dtype === 'string') fail(where, 'string tensors are not written as data', 'strings may be graph inputs and outputs, or attributes (e.g. LabelEncoder keys_strings)');
  const want = DTYPE_ARRAY[t.dtype];
  if (!want) fail(where, `unknown dtype '${t.dtype}'`, `use one of ${Object.keys(DTYPE_ARRAY).join(', ')}`);
  const got = ArrayBuffer.isView(t.data) ? (t.data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] : typeof t.data;
  if (got !== want) fail(where, `dtype ${t.dtype} needs a ${want}, got ${got}`, 'store the data in the typed array that matches the dtype');
  for (const d of t.dims) if (!Number.isInteger(d) || d < 0) fail(where, `bad dim ${d} in [${t.dims}]`, 'dims are non-negative integers');
  const n = elementCount(t.dims);
  if (t.data.length !== n) fail(where, `dims [${t.dims}] need ${n} elements, data has ${t.data.length}`, 'fix dims or the data length');
}

function checkValueInfo(v: OnnxValueInfo, where: string, needShape: boolean): void {
  if (!v.name) fail(where, 'empty name', 'every graph input and output needs a name');
  const at = `${where} '${v.name}'`;
  if (!DTYPE_ARRAY[v.dtype] && v.dtype !== 'string') fail(at, `unknown dtype '${v.dtype}'`, `use one of ${Object.keys(DTYPE_ARRAY).join(', ')}`);
  if (v.shape === null) {
    if (needShape) fail(at, 'has no shape (unknown rank)', 'the ONNX checker requires a shape on main-graph inputs and outputs; use symbolic dims (strings) for unknown sizes');
    return;
  }
  for (const d of v.shape) {
    if (typeof d === 'number' && (!Number.isInteger(d) || d < 0)) fail(at, `bad dim ${d} in shape [${v.shape}]`, 'fixed dims are non-negative integers; use a string for a symbolic dim');
  }
}

function checkGraph(g: OnnxGraph, parent: Scope | null, ctx: Ctx, path: string): void {
  const where = `${path}graph '${g.name}'`;
  if (!g.name) fail(`${path}graph`, 'empty graph name', "give every graph (and subgraph) a name, e.g. 'main' or 'loop_body'");
  const isMain = parent === null;
  const scope = new Scope(parent);
  g.inputs.forEach((v) => {
    checkValueInfo(v, `${where} input`, isMain);
    if (scope.hasLocal(v.name)) fail(`${where} input '${v.name}'`, 'is listed twice (SSA: each name is defined once)', 'rename one of the inputs');
    scope.define(v.name, 'graph input');
  });
  g.outputs.forEach((v) => checkValueInfo(v, `${where} output`, isMain));
  (g.valueInfo ?? []).forEach((v) => checkValueInfo(v, `${where} value_info`, false));
  const inits = new Set<string>();
  for (const t of g.initializers) {
    const at = `${where} initializer '${t.name}'`;
    if (!t.name) fail(`${where} initializer`, 'empty name', 'every initializer needs a name');
    if (inits.has(t.name)) fail(at, 'is listed twice (SSA: each name is defined once)', 'rename one of the initializers');
    inits.add(t.name);
    checkTensor(t, at);
    if (!scope.hasLocal(t.name)) scope.define(t.name, 'initializer');
  }
  // Where each value is produced, to tell "defined later" (not topological) from "never defined".
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => { if (o && !producer.has(o)) producer.set(o, i); }));

  g.nodes.forEach((n, i) => {
    const at = `${where} ${describeNode(n, i)}`;
    if (n.domain && n.domain !== 'ai.onnx' && !(n.domain === ML_DOMAIN && ctx.mlOpset !== undefined)) {
      fail(at, `domain '${n.domain}' is not imported`, `Switchyard models import the default ONNX domain ('') and, for tabular encoders, '${ML_DOMAIN}'`);
    }
    n.inputs.forEach((name, k) => {
      if (name === '' || scope.lookup(name) !== undefined) return;
      const later = producer.get(name);
      if (later === i) fail(at, `input ${k} '${name}' is this node's own output (a cycle)`, 'a node cannot consume what it produces');
      if (later !== undefined && later > i) {
        fail(at, `input ${k} '${name}' is produced by ${describeNode(g.nodes[later], later)}, which comes later: nodes are not in topological order`, 'emit nodes in topological order (ORT sorts silently; the spec and other runtimes do not)');
      }
      fail(at, `input ${k} '${name}' is not defined (no graph input, initializer, earlier node output${isMain ? '' : ' or enclosing-scope value'} has that name)`, 'check the name, or add the missing input/initializer');
    });
    checkNode(n, at, scope, ctx);
    n.outputs.forEach((name) => {
      if (name === '') return;
      const prev = scope.lookup(name);
      if (prev !== undefined) {
        const outer = !scope.hasLocal(name) ? ' in an enclosing graph' : '';
        fail(at, `output '${name}' is already defined by ${prev}${outer} (SSA: each name is defined once)`, 'give every node output a fresh name; subgraphs must not shadow outer names');
      }
      scope.define(name, describeNode(n, i));
    });
  });
  for (const o of g.outputs) {
    if (scope.lookup(o.name) === undefined) {
      fail(`${where} output '${o.name}'`, `no node, graph input or initializer${isMain ? '' : ' (here or in an enclosing graph)'} produces it`, 'check the output name against the node outputs');
    }
  }
}

const ATTR_KINDS = new Set(['int', 'float', 'string', 'ints', 'floats', 'strings', 'tensor', 'graph']);

function versionRange(op: string, v: OpVersion): string {
  const all = versionsOf(op);
  const next = all[all.indexOf(v) + 1];
  return next ? `opsets ${v.since}..${next.since - 1}` : `opsets ${v.since}+`;
}

/** Explains where else an attribute or value is allowed, for hints. */
function otherVersionsHint(op: string, attrName: string, value: string | undefined, v: OpVersion): string {
  const others = versionsOf(op).filter((o) => o !== v && o.attrs?.[attrName] && (value === undefined || !o.values?.[attrName] || o.values[attrName].includes(value)));
  const parts = others.map((o) => `${op}-${o.since} (${versionRange(op, o)}) ${value === undefined ? `has attribute '${attrName}'` : `allows ${attrName}='${value}'`}`);
  if (value === undefined && parseFormals(v.inputs).names.includes(attrName)) parts.push(`at opset ${v.since}+ '${attrName}' is an input of ${op}`);
  return parts.length ? parts.join('; ') : '';
}

function checkArity(op: string, v: OpVersion, names: string[], formals: string, kind: 'input' | 'output', at: string): void {
  const f = parseFormals(formals);
  const n = names.length;
  if (n < f.min || n > f.max) {
    const range = f.max === Infinity ? `at least ${f.min}` : f.min === f.max ? `${f.min}` : `${f.min}..${f.max}`;
    fail(at, `has ${n} ${kind}s, ${op}-${v.since} takes ${range} (${formals || 'none'})`, `see the ONNX spec of ${op} at ${versionRange(op, v)}`);
  }
  names.forEach((name, k) => {
    const formal = Math.min(k, f.names.length - 1);
    if (name === '' && !f.optional[formal]) {
      fail(at, `${kind} ${k} (${f.names[formal]}) is required but empty`, `'' may only stand for an omitted optional ${kind}`);
    }
  });
}

function checkNode(n: OnnxNode, at: string, scope: Scope, ctx: Ctx): void {
  const op = n.opType;
  const ml = n.domain === ML_DOMAIN;
  const table = ml ? ML_OPS : OPS;
  const opset = (ml ? ctx.mlOpset : ctx.opset) ?? 0;
  if (!table[op]) fail(at, `unknown operator '${op}'${ml ? ` in domain '${ML_DOMAIN}'` : ''}`, `Switchyard's ONNX op table (src/runtime/onnx/opsets.ts) does not know '${op}'; add its spec interface there if the project needs it`);
  const v = opVersionAt(op, opset, n.domain);
  if (!v) fail(at, `${op} needs ${ml ? `${ML_DOMAIN} ` : ''}opset >= ${table[op][0].since} (model imports opset ${opset})`, `raise the model opset or lower ${op} onto older ops`);
  checkArity(op, v, n.inputs, v.inputs, 'input', at);
  checkArity(op, v, n.outputs, v.outputs, 'output', at);
  const attrs = n.attrs ?? {};
  for (const [name, a] of Object.entries(attrs)) {
    const rule = v.attrs?.[name];
    if (!rule) {
      const other = otherVersionsHint(op, name, undefined, v);
      const allowed = Object.keys(v.attrs ?? {});
      fail(at, `attribute '${name}' is not allowed for ${op} at opset ${opset}`, `${other ? `${other}. ` : ''}${op}-${v.since} attributes: ${allowed.length ? allowed.join(', ') : 'none'}`);
    }
    if (!a || !ATTR_KINDS.has(a.kind)) fail(at, `attribute '${name}' has no valid kind`, 'build attributes with the attr.* helpers');
    const kind = rule.replace('!', '');
    if (a.kind !== kind) fail(at, `attribute '${name}' must be ${kind}, got ${a.kind}`, `use attr.${kind}(...)`);
    checkAttrValue(op, v, name, a, at, ctx);
    if (a.kind === 'graph') checkGraph(a.value, scope, ctx, `${at} attribute '${name}' > `);
  }
  for (const [name, rule] of Object.entries(v.attrs ?? {})) {
    if (rule.endsWith('!') && !(name in attrs)) fail(at, `required attribute '${name}' is missing`, `${op}-${v.since} requires '${name}' (${rule.slice(0, -1)})`);
  }
  SPECIAL[op]?.(n, attrs, at, ctx);
}

function checkAttrValue(op: string, v: OpVersion, name: string, a: OnnxAttr, at: string, ctx: Ctx): void {
  const allowed = v.values?.[name];
  if (allowed && a.kind === 'string' && !allowed.includes(a.value)) {
    const other = otherVersionsHint(op, name, a.value, v);
    fail(at, `${name}='${a.value}' is not allowed for ${op} at opset ${ctx.opset} (allowed: ${allowed.join(', ')})`, other || `allowed values: ${allowed.join(', ')}`);
  }
  const bad = (x: number) => !Number.isInteger(x);
  if ((a.kind === 'int' && bad(a.value)) || (a.kind === 'ints' && a.value.some(bad))) {
    fail(at, `attribute '${name}' must hold integers, got ${JSON.stringify(a.value)}`, 'int attributes are int64');
  }
  if (a.kind === 'tensor') checkTensor(a.value, `${at} attribute '${name}'`);
}

/** Highest `TensorProto.DataType` code defined at an opset (float8 types at 19, int4 at 21). */
function maxDataTypeCode(opset: number): number {
  return opset >= 21 ? 22 : opset >= 19 ? 20 : 16;
}

type Special = (n: OnnxNode, attrs: Record<string, OnnxAttr>, at: string, ctx: Ctx) => void;

const SPECIAL: Record<string, Special> = {
  Constant: (_n, attrs, at) => {
    const set = Object.keys(attrs);
    if (set.length !== 1) fail(at, `Constant needs exactly one value attribute, got ${set.length ? set.join(', ') : 'none'}`, "set one of value, value_float(s), value_int(s), value_string(s)");
  },
  Cast: (_n, attrs, at, ctx) => {
    const to = attrs.to;
    if (to?.kind === 'int' && (to.value < 1 || to.value > maxDataTypeCode(ctx.opset))) {
      fail(at, `Cast to=${to.value} is not a TensorProto.DataType at opset ${ctx.opset}`, 'use DTYPE_CODE from src/runtime/onnx/proto.ts');
    }
  },
  Split: (n, attrs, at, ctx) => {
    if (ctx.opset < 18) return;
    const hasSplit = (n.inputs[1] ?? '') !== '';
    const num = attrs.num_outputs;
    if (hasSplit && num) fail(at, "Split has both the 'split' input and 'num_outputs'", 'give one of them, not both');
    if (!hasSplit && !num) fail(at, "Split at opset >= 18 needs the 'split' input or the 'num_outputs' attribute", "add num_outputs=<number of outputs> (before opset 18 the output count sufficed)");
    if (num?.kind === 'int' && num.value !== n.outputs.length) fail(at, `Split num_outputs=${num.value} but the node has ${n.outputs.length} outputs`, 'make num_outputs equal the output count');
  },
  Loop: (n, attrs, at) => {
    const body = attrs.body;
    if (body?.kind !== 'graph') return;
    const carried = n.inputs.length - 2;
    if (body.value.inputs.length !== 2 + carried) {
      fail(at, `Loop body has ${body.value.inputs.length} inputs, expected 2 + ${carried} (iteration_num, cond, one per loop-carried value)`, 'body inputs are (iter: int64 [], cond: bool [], ...carried)');
    }
    if (body.value.outputs.length !== n.outputs.length + 1) {
      fail(at, `Loop body has ${body.value.outputs.length} outputs, expected 1 + ${n.outputs.length} (cond, then one per Loop output)`, 'body outputs are (cond, ...carried, ...scan outputs); Loop outputs are (...carried, ...scan outputs)');
    }
    if (n.outputs.length < carried) fail(at, `Loop has ${carried} loop-carried inputs but only ${n.outputs.length} outputs`, 'every loop-carried value has a final-value output');
  },
  If: (n, attrs, at) => {
    for (const branch of ['then_branch', 'else_branch']) {
      const g = attrs[branch];
      if (g?.kind !== 'graph') continue;
      if (g.value.inputs.length !== 0) fail(at, `If ${branch} has ${g.value.inputs.length} inputs, expected none`, 'If branches read outer-scope values directly');
      if (g.value.outputs.length !== n.outputs.length) fail(at, `If ${branch} has ${g.value.outputs.length} outputs, the node has ${n.outputs.length}`, 'both branches produce one value per If output');
    }
  },
};

/**
 * Checks a model against the ONNX spec rules Switchyard relies on (see the module doc): SSA and
 * scoping, topological order, graph outputs defined, and per-op interfaces at the model's opset
 * ({@link MIN_OPSET}..{@link MAX_OPSET}), recursively into Loop/If subgraphs.
 *
 * @throws SwitchyardError `E_ONNX_INVALID`, with a message naming the graph, the node
 * (index, op type, name) and the problem, and a hint.
 * @example
 * validateModel({ opset: 18, graph }); // throws on e.g. ReduceMean with an 'axes' attribute
 */
export function validateModel(m: OnnxModel): void {
  if (!Number.isInteger(m.opset) || m.opset < MIN_OPSET || m.opset > MAX_OPSET) {
    fail('model', `opset ${m.opset} is outside the checked range ${MIN_OPSET}..${MAX_OPSET}`, `Switchyard targets opset 18; its op table covers ${MIN_OPSET}..${MAX_OPSET}`);
  }
  if (m.irVersion !== undefined && (!Number.isInteger(m.irVersion) || m.irVersion < 4)) {
    fail('model', `ir_version ${m.irVersion} is below 4`, 'initializers outside the graph inputs need IR >= 4; leave irVersion unset for the default');
  }
  const imports = Object.entries(m.imports ?? {});
  for (const [domain, version] of imports) {
    if (domain !== ML_DOMAIN) fail('model', `imports domain '${domain}'`, `Switchyard models import only the default domain and '${ML_DOMAIN}'`);
    if (!Number.isInteger(version) || version < MIN_ML_OPSET || version > MAX_ML_OPSET) {
      fail('model', `${ML_DOMAIN} opset ${version} is outside the checked range ${MIN_ML_OPSET}..${MAX_ML_OPSET}`, `import ${ML_DOMAIN} opset ${MAX_ML_OPSET}`);
    }
  }
  checkGraph(m.graph, null, { opset: m.opset, mlOpset: m.imports?.[ML_DOMAIN] }, '');
}

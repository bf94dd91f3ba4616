/**
 * Reads the public API of Switchyard with the TypeScript compiler: every name `src/index.ts` exports (and the
 * names of its namespaces `nn`, `optim`, `data`, `stats`), each with its TSDoc, examples and signatures, and
 * the fields of the option types its functions take. `scripts/api-docs.ts` renders it as Markdown.
 */
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');
export const ENTRY = join(SRC, 'index.ts');
/** Sub-path entry points of the package (package.json `exports`) that are not namespaces of the root. */
const SUBPATH_ENTRIES = { 'switchyard/serve': join(SRC, 'serve/index.ts') };

/** One property of an interface or object type. */
export interface ApiField {
  name: string;
  type: string;
  optional: boolean;
  doc: string;
}

/** One parameter of a signature; `fields` when its type is an object type the API does not document elsewhere. */
export interface ApiParam extends ApiField {
  defaultText?: string;
  fields?: ApiField[];
}

/** One call (or construct) signature. */
export interface ApiSignature {
  params: ApiParam[];
  returns: string;
  returnsDoc: string;
}

/** A method or property of a class, declared by the class itself (inherited members are left to the base). */
export interface ApiMember {
  name: string;
  isStatic: boolean;
  /** `name(a: A, b?: B): R` for methods, `name: T` for properties. */
  text: string;
  doc: string;
}

/** One exported name. */
export interface ApiEntry {
  name: string;
  kind: 'function' | 'class' | 'interface' | 'type' | 'const';
  /** The file that declares it, relative to the repository, e.g. `src/train/tabular.ts`. */
  file: string;
  doc: string;
  examples: string[];
  deprecated?: string;
  signatures: ApiSignature[];
  fields: ApiField[];
  members: ApiMember[];
  /** The type of a constant, the right-hand side of a type alias, the base of a class. */
  typeText?: string;
}

/** The exports of one module of the public API: the root (`switchyard`) or a namespace (`nn`, ...). */
export interface ApiModule {
  name: string;
  doc: string;
  entries: ApiEntry[];
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();
const HIDDEN = ts.ModifierFlags.Private | ts.ModifierFlags.Protected;
const hasFlag = (node: ts.Node, flag: ts.ModifierFlags): boolean =>
  (ts.getCombinedModifierFlags(node as ts.Declaration) & flag) !== 0;

/** TSDoc text with `{@link X}` written as code. */
function docText(parts: ts.SymbolDisplayPart[] | undefined): string {
  return ts.displayPartsToString(parts).replace(/\{@link(?:code|plain)?\s+([^}|\s]+)(?:[\s|][^}]*)?\}/g, '`$1`').trim();
}

/** The text of a `@param` or `@returns` tag, on one line. */
const tagText = (tag: ts.JSDocTag | undefined): string =>
  oneLine(ts.getTextOfJSDocComment(tag?.comment) ?? '').replace(/^- /, '');

/**
 * A signature on one line, e.g. `trainTabular(opts: TabularTrainOptions): Promise<TabularTrainSummary>`.
 *
 * @example
 * const x = { name: 'x', type: 'number', optional: true, doc: '' };
 * signatureText('f', { params: [x], returns: 'void', returnsDoc: '' }); // 'f(x?: number): void'
 */
export function signatureText(name: string, s: ApiSignature): string {
  const params = s.params.map((p) => `${p.name}${p.optional && !p.name.startsWith('...') ? '?' : ''}: ${p.type}`);
  return `${name}(${params.join(', ')}): ${s.returns}`;
}

function createProgram(): ts.Program {
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} };
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, host);
  return ts.createProgram([ENTRY, ...Object.values(SUBPATH_ENTRIES)], { ...(config?.options ?? {}), noEmit: true });
}

/** Reads the public API: the package root first, then each namespace, entries sorted by file and name. */
export function readApi(): ApiModule[] {
  const program = createProgram();
  const checker = program.getTypeChecker();
  const fromSrc = (d: ts.Node | undefined): boolean => d !== undefined && d.getSourceFile().fileName.startsWith(SRC);
  const resolve = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  // The type as the author wrote it where there is a type annotation, else as the checker infers it.
  const typeText = (node: ts.TypeNode | undefined, fallback: () => ts.Type): string =>
    oneLine(node ? node.getText() : checker.typeToString(fallback(), undefined, ts.TypeFormatFlags.NoTruncation));

  const fieldOf = (p: ts.Symbol): ApiField => {
    const decl = p.valueDeclaration ?? p.declarations![0];
    const node = ts.isPropertySignature(decl) || ts.isPropertyDeclaration(decl) ? decl.type : undefined;
    const deprecated = p.getJsDocTags(checker).find((t) => t.name === 'deprecated');
    const note = deprecated ? `**Deprecated:** ${docText(deprecated.text)}` : '';
    const doc = [note, docText(p.getDocumentationComment(checker))];
    return {
      name: p.name,
      type: typeText(node, () => checker.getNonNullableType(checker.getTypeOfSymbol(p))),
      optional: (p.flags & ts.SymbolFlags.Optional) !== 0,
      doc: doc.filter(Boolean).join(' '),
    };
  };

  /** Properties of an object type declared in `src/` (not arrays, functions, class instances or library types). */
  const fieldsOf = (type: ts.Type): ApiField[] => {
    const t = checker.getNonNullableType(type);
    if (!(t.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection)) || t.getCallSignatures().length) return [];
    const isClass = ((t.getSymbol()?.flags ?? 0) & ts.SymbolFlags.Class) !== 0;
    if (checker.isArrayType(t) || checker.isTupleType(t) || isClass) return [];
    const props = checker.getPropertiesOfType(t);
    return props.length && props.every((p) => fromSrc(p.declarations?.[0])) ? props.map(fieldOf) : [];
  };

  const paramOf = (p: ts.Symbol, linkable: (typeName: string) => boolean): ApiParam => {
    const d = p.valueDeclaration as ts.ParameterDeclaration | undefined;
    const type = checker.getTypeOfSymbol(p);
    const shown = typeText(d?.type, () => type);
    const rest = d?.dotDotDotToken ? '...' : '';
    const name = d && !ts.isIdentifier(d.name) ? oneLine(d.name.getText()) : `${rest}${p.name}`;
    // A parameter typed by a documented name links there; other object types list their fields here.
    const fields = linkable(shown.replace(/^Partial<(.*)>$/, '$1')) ? [] : fieldsOf(type);
    return {
      name,
      type: shown,
      optional: d ? Boolean(d.questionToken || d.initializer || d.dotDotDotToken) : false,
      defaultText: d?.initializer ? oneLine(d.initializer.getText()) : undefined,
      doc: d ? tagText(ts.getJSDocParameterTags(d)[0]) : '',
      fields: fields.length ? fields : undefined,
    };
  };

  const signatureOf = (sig: ts.Signature, linkable: (typeName: string) => boolean): ApiSignature => {
    const decl = sig.getDeclaration() as ts.SignatureDeclaration | undefined;
    return {
      params: sig.getParameters().map((p) => paramOf(p, linkable)),
      returns: typeText(decl?.type, () => sig.getReturnType()),
      returnsDoc: decl ? tagText(ts.getJSDocReturnTag(decl)) : '',
    };
  };

  const memberOf = (m: ts.ClassElement): ApiMember | undefined => {
    const sym = m.name ? checker.getSymbolAtLocation(m.name) : undefined;
    if (!sym || ts.isPrivateIdentifier(m.name!) || sym.name.startsWith('_') || hasFlag(m, HIDDEN)) return undefined;
    const type = checker.getTypeOfSymbol(sym);
    let text: string;
    const signature = (s: ts.Signature) => signatureText(sym.name, signatureOf(s, () => true));
    if (ts.isMethodDeclaration(m)) text = type.getCallSignatures().map(signature).join('\n');
    else if (ts.isPropertyDeclaration(m)) text = `${sym.name}: ${typeText(m.type, () => type)}`;
    else if (ts.isGetAccessor(m)) text = `get ${sym.name}: ${typeText(m.type, () => type)}`;
    else return undefined;
    const doc = oneLine(docText(sym.getDocumentationComment(checker)).split(/\n\s*\n/)[0]);
    return { name: sym.name, isStatic: hasFlag(m, ts.ModifierFlags.Static), text, doc };
  };

  /** Members the class declares itself (overloads once); inherited ones are documented with their class. */
  const membersOf = (decl: ts.ClassDeclaration): ApiMember[] => {
    const out: ApiMember[] = [];
    for (const m of decl.members.map(memberOf)) {
      if (m && !out.some((o) => o.name === m.name && o.isStatic === m.isStatic)) out.push(m);
    }
    return out;
  };

  const entryOf = (exported: string, sym: ts.Symbol, linkable: (n: string) => boolean): ApiEntry | undefined => {
    const decl = sym.declarations?.[0];
    if (!decl) return undefined;
    const tags = sym.getJsDocTags(checker);
    const deprecated = tags.find((t) => t.name === 'deprecated');
    const base = {
      name: exported,
      file: relative(ROOT, decl.getSourceFile().fileName),
      doc: docText(sym.getDocumentationComment(checker)),
      examples: tags.filter((t) => t.name === 'example').map((t) => docText(t.text).replace(/^\s*\n/, '')),
      deprecated: deprecated ? docText(deprecated.text) || 'deprecated' : undefined,
      signatures: [] as ApiSignature[],
      fields: [] as ApiField[],
      members: [] as ApiMember[],
    };
    if (sym.flags & ts.SymbolFlags.Class) {
      const cls = sym.declarations!.find(ts.isClassDeclaration)!;
      // A class made by a factory (a private constructor, e.g. `TrainStep.compile`) shows no constructor.
      const hidden = cls.members.some((m) => ts.isConstructorDeclaration(m) && hasFlag(m, HIDDEN));
      const constructors = checker.getTypeOfSymbol(sym).getConstructSignatures();
      const ctor = hidden ? [] : constructors.map((s) => signatureOf(s, linkable));
      const heritage = cls.heritageClauses?.map((h) => oneLine(h.getText())).join(' ');
      return { ...base, kind: 'class', signatures: ctor, members: membersOf(cls), typeText: heritage };
    }
    if (sym.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable)) {
      const type = checker.getTypeOfSymbol(sym);
      const sigs = type.getCallSignatures();
      // A constant holding a plain function (no properties) reads as a function.
      if (sym.flags & ts.SymbolFlags.Function || (sigs.length > 0 && !checker.getPropertiesOfType(type).length)) {
        return { ...base, kind: 'function', signatures: sigs.map((s) => signatureOf(s, linkable)) };
      }
      const node = ts.isVariableDeclaration(decl) ? decl.type : undefined;
      return { ...base, kind: 'const', typeText: typeText(node, () => type), fields: fieldsOf(type) };
    }
    const fields = fieldsOf(checker.getDeclaredTypeOfSymbol(sym));
    if (sym.flags & ts.SymbolFlags.Interface) return { ...base, kind: 'interface', fields };
    if (sym.flags & ts.SymbolFlags.TypeAlias) {
      const rhs = ts.isTypeAliasDeclaration(decl) ? oneLine(decl.type.getText()) : '';
      return { ...base, kind: 'type', fields, typeText: fields.length ? undefined : rhs };
    }
    return undefined;
  };

  const root = checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!;
  const isModule = (s: ts.Symbol): boolean => (resolve(s).flags & ts.SymbolFlags.ValueModule) !== 0;
  const namespaces = checker.getExportsOfModule(root).filter(isModule);
  const exportsOf = (m: ts.Symbol): ts.Symbol[] => checker.getExportsOfModule(m).filter((s) => !isModule(s));
  // Names with an entry of their own (in any module): a parameter of such a type links there.
  const documented = new Set([root, ...namespaces.map(resolve)].flatMap((m) => exportsOf(m).map((s) => s.name)));
  const moduleOf = (name: string, moduleSymbol: ts.Symbol): ApiModule => {
    const file = moduleSymbol.declarations?.[0] as ts.SourceFile;
    const linkable = (n: string): boolean => documented.has(n);
    const entries = exportsOf(moduleSymbol).flatMap((s) => entryOf(s.name, resolve(s), linkable) ?? []);
    const fileDoc = ts.getJSDocCommentsAndTags(file.statements[0] ?? file);
    const doc = fileDoc.map((d) => oneLine(ts.getTextOfJSDocComment(d.comment) ?? '')).join(' ');
    entries.sort((a, b) => a.file.localeCompare(b.file) || a.name.localeCompare(b.name));
    return { name, doc, entries };
  };
  const namespaceModules = namespaces.map((s) => moduleOf(s.name, resolve(s)));
  namespaceModules.sort((a, b) => a.name.localeCompare(b.name));
  const subpaths = Object.entries(SUBPATH_ENTRIES).map(([name, file]) => {
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    for (const s of exportsOf(symbol)) documented.add(s.name);
    return moduleOf(name, symbol);
  });
  return [moduleOf('switchyard', root), ...namespaceModules, ...subpaths];
}

/**
 * Exported functions and classes of `files` without TSDoc, as `file: kind name`, read by the compiler's parser
 * (no type checking).
 *
 * @example
 * undocumentedExports(['src/util/rng.ts']); // []
 */
export function undocumentedExports(files: readonly string[]): string[] {
  const missing: string[] = [];
  for (const file of files) {
    const source = ts.createSourceFile(file, ts.sys.readFile(file) ?? '', ts.ScriptTarget.Latest, true);
    for (const st of source.statements) {
      if (!(ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) || !st.name) continue;
      if (!hasFlag(st, ts.ModifierFlags.Export)) continue;
      if (ts.getJSDocCommentsAndTags(st).some(ts.isJSDoc)) continue;
      missing.push(`${relative(ROOT, file)}: ${ts.isClassDeclaration(st) ? 'class' : 'function'} ${st.name.text}`);
    }
  }
  return missing;
}

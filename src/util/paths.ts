/**
 * Output paths checked before a verb does any work: an output never overwrites an input (the same file after
 * resolving links, hard links included), never lands inside an input directory (a run, a text folder), and can
 * be written at all (not under a file, not a file where a directory is wanted, not read-only).
 */
import { accessSync, constants, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { SwitchyardError } from './errors.ts';

/** One path a verb reads or writes, with the flag that named it (for the message). */
export interface FlagPath {
  /** The flag as the user typed it, e.g. `--data`. */
  flag: string;
  /** The path; undefined (flag not given) is skipped. */
  path: string | undefined;
  /**
   * An input directory that outputs may be written into (e.g. an ONNX export beside a run's weights); the
   * files in it that the verb reads must then be given as inputs of their own, so none is overwritten.
   */
  holdsOutputs?: boolean;
}

/** An output path: a `file` the verb writes, or a `dir` it creates and fills. */
export interface OutputPath extends FlagPath {
  kind: 'file' | 'dir';
  /** The verb may delete the directory's contents (e.g. `train --force`): it must not hold any input either. */
  replaces?: boolean;
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** The path with every existing prefix's links resolved (a path that does not exist yet keeps its tail). */
function realPath(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realPath(parent), basename(abs));
  }
}

/** Whether `inner` is `outer` or lies below it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function fail(message: string, hint: string): never {
  throw new SwitchyardError('E_OUTPUT', message, hint);
}

/** Refuses an output that is not writable: under a file, of the wrong kind, or in a read-only place. */
function checkWritable(o: OutputPath & { path: string }): void {
  const abs = resolve(o.path);
  const st = statOrNull(abs);
  if (st) {
    if (o.kind === 'dir' && !st.isDirectory()) fail(`${o.flag} ${o.path} is a file, not a directory`, `pass a directory for ${o.flag} (it is created if missing)`);
    if (o.kind === 'file' && st.isDirectory()) fail(`${o.flag} ${o.path} is a directory, not a file`, `pass a file name for ${o.flag}, e.g. ${join(o.path, 'out')}`);
  }
  let existing = st ? abs : dirname(abs);
  for (;;) {
    const s = statOrNull(existing);
    if (s) {
      if (!s.isDirectory() && existing !== abs) fail(`${o.flag} ${o.path}: ${existing} is a file, so nothing can be written under it`, `pick a path whose parent folders are directories`);
      break;
    }
    const up = dirname(existing);
    if (up === existing) break;
    existing = up;
  }
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    fail(`${o.flag} ${o.path}: ${existing} is not writable`, 'pick a writable location, or fix its permissions');
  }
}

/** Names the input that `out` would overwrite or write into, if any. */
function clash(out: OutputPath & { path: string }, input: FlagPath & { path: string }): string | null {
  const outReal = realPath(out.path);
  const inReal = realPath(input.path);
  const outStat = statOrNull(out.path);
  const inStat = statOrNull(input.path);
  const sameInode = outStat && inStat && outStat.dev === inStat.dev && outStat.ino === inStat.ino;
  if (sameInode || outReal === inReal) return 'is the same file as';
  if (inStat?.isDirectory() && !input.holdsOutputs && within(outReal, inReal)) return 'is inside the input directory';
  if (out.replaces && within(inReal, outReal)) return 'would replace a directory that holds';
  return null;
}

/**
 * Checks a verb's outputs before it does any work: each output must be writable, must not be one of the
 * inputs (the same file after resolving symbolic and hard links), must not lie inside an input directory, and
 * (with `replaces`) must not hold an input. Throws one `E_OUTPUT` error naming both flags.
 *
 * @param outputs what the verb writes; entries without a path are skipped
 * @param inputs what the verb reads; entries without a path are skipped
 * @example
 * checkOutputs([{ flag: '--out', path: 't.csv', kind: 'file' }], [{ flag: '--data', path: 't.csv' }]);
 * // throws: --out t.csv is the same file as --data t.csv
 */
export function checkOutputs(outputs: readonly OutputPath[], inputs: readonly FlagPath[]): void {
  const given = <T extends FlagPath>(xs: readonly T[]) => xs.filter((x): x is T & { path: string } => x.path !== undefined && x.path !== '');
  const outs = given(outputs);
  const ins = given(inputs);
  for (const out of outs) {
    checkWritable(out);
    for (const input of ins) {
      const why = clash(out, input);
      if (why) fail(`${out.flag} ${out.path} ${why} ${input.flag} ${input.path}`, `write ${out.flag} somewhere else: an output never overwrites or lands inside an input`);
    }
  }
  for (let i = 0; i < outs.length; i++) {
    for (let j = i + 1; j < outs.length; j++) {
      if (realPath(outs[i].path) === realPath(outs[j].path)) fail(`${outs[i].flag} and ${outs[j].flag} are the same path ${outs[i].path}`, 'give each output its own path');
    }
  }
}

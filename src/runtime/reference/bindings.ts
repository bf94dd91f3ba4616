import type { Dim, Shape } from '../../core/shape.ts';

/**
 * Sizes of symbolic dimensions, fixed by the fed shapes. A symbolic dim is a product such as `'batch'`,
 * `'batch*seq'` or `'4*batch'`; its size is the product of its factors.
 */
export class Bindings {
  private readonly sizes = new Map<string, number>();
  private readonly parent: Bindings | null;

  /**
   * `parent`: the enclosing scope (a loop body runs in a child scope per iteration, so data-dependent sizes such
   * as nonzero's `?nz1` may differ between iterations); lookups fall back to it, new bindings stay here.
   */
  constructor(parent: Bindings | null = null) {
    this.parent = parent;
  }

  private lookup(s: string): number | undefined {
    return this.sizes.get(s) ?? this.parent?.lookup(s);
  }

  /** The size of `d`, or undefined when one of its symbols is unbound. */
  value(d: Dim): number | undefined {
    if (typeof d === 'number') return d;
    let n = 1;
    for (const f of d.split('*')) {
      if (/^\d+$/.test(f)) n *= Number(f);
      else {
        const v = this.lookup(f);
        if (v === undefined) return this.lookup(d);
        n *= v;
      }
    }
    return n;
  }

  /** The bound size of symbol `s` (for messages). */
  get(s: string): number | undefined {
    return this.lookup(s);
  }

  /**
   * Matches a concrete shape against a declared one, binding symbols seen for the first time. Returns null on
   * success, else why it failed (`''` for a plain mismatch, `'batch is 2'` for a symbol bound earlier).
   */
  match(declared: Shape, actual: readonly number[]): string | null {
    if (declared.length !== actual.length) return '';
    const deferred: number[] = [];
    for (let i = 0; i < declared.length; i++) {
      const d = declared[i];
      const a = actual[i];
      if (!Number.isInteger(a) || a < 0) return '';
      if (typeof d === 'number') {
        if (d !== a) return '';
        continue;
      }
      const v = this.value(d);
      if (v === undefined) deferred.push(i);
      else if (v !== a) return `${d} is ${v}`;
    }
    for (const i of deferred) {
      const d = declared[i] as string;
      const a = actual[i];
      const v = this.value(d);
      if (v !== undefined) {
        if (v !== a) return `${d} is ${v}`;
        continue;
      }
      let known = 1;
      const unknown: string[] = [];
      for (const f of d.split('*')) {
        if (/^\d+$/.test(f)) known *= Number(f);
        else if (this.lookup(f) !== undefined) known *= this.lookup(f)!;
        else unknown.push(f);
      }
      if (unknown.length === 1 && known !== 0) {
        if (a % known !== 0) return `${d} cannot be ${a}`;
        this.sizes.set(unknown[0], a / known);
      } else this.sizes.set(d, a);
    }
    // A compound symbol bound whole (its factors unknown then) must agree with its factors once they are known.
    for (const [d, n] of [...this.sizes]) {
      if (!d.includes('*')) continue;
      this.sizes.delete(d);
      const v = this.value(d);
      this.sizes.set(d, n);
      if (v !== undefined && v !== n) return `${d} is ${n}`;
    }
    return null;
  }
}

/** Structural checks on generated SVG/HTML strings used by the report tests. */
import { expect } from 'vitest';

const VOID = new Set(['meta', 'br', 'link', 'input', 'hr', 'img', '!doctype']);

/** Asserts that every tag is closed in order (a tiny XML well-formedness check) and returns the tag names. */
export function expectWellFormed(markup: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  for (const m of markup.matchAll(/<(\/?)([!a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    const n = name.toLowerCase();
    if (n === '!doctype' || VOID.has(n)) continue;
    if (close) {
      expect(stack.pop(), `closing </${name}> at ${m.index}`).toBe(n);
    } else {
      names.push(n);
      if (!self) stack.push(n);
    }
  }
  expect(stack).toEqual([]);
  // No stray '<' or '>' outside tags: every '<' starts a tag.
  expect(markup.replace(/<(\/?)([!a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g, '')).not.toMatch(/[<>]/);
  return names;
}

/** Numeric attribute `attr` of every element `<tag ... class="cls"`. */
export function attrs(svg: string, tag: string, cls: string, attr: string): number[] {
  const out: number[] = [];
  for (const m of svg.matchAll(new RegExp(`<${tag}\\b[^>]*class="${cls}"[^>]*>`, 'g'))) {
    const a = m[0].match(new RegExp(`\\s${attr}="([-\\d.e]+)"`));
    if (a) out.push(Number(a[1]));
  }
  return out;
}

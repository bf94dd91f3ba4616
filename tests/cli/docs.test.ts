import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { render } from '../../scripts/api-docs.ts';
import { ROOT } from './helpers.ts';

it('docs/api.md is generated from the current TSDoc, and every exported function and class has TSDoc', () => {
  const { md, missing } = render();
  expect(missing).toEqual([]);
  expect(readFileSync(join(ROOT, 'docs/api.md'), 'utf8'), 'docs/api.md is stale: run node bin/run-ts.js scripts/api-docs.ts').toBe(md);
});

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serveRegistry } from '../../src/cli/serve-verb.ts';
import { cli, expectBadInput, tmp } from './helpers.ts';

describe('serve: which registry', () => {
  it('--registry wins; $SWITCHYARD_REGISTRY serves NAME@ALIAS and monitoring; a run directory needs none', () => {
    const env = { SWITCHYARD_REGISTRY: 'shared-registry' };
    expect(serveRegistry('mine', 'churn@production', false, env)).toBe('mine');
    expect(serveRegistry(undefined, 'churn@production', false, env)).toBe('shared-registry');
    expect(serveRegistry(undefined, 'runs/churn', false, env)).toBeUndefined();
    expect(serveRegistry(undefined, 'runs/churn', true, env)).toBe('shared-registry');
    expect(serveRegistry(undefined, 'churn@production', false, {})).toBeUndefined();
  });

  const saved = process.env.SWITCHYARD_REGISTRY;
  afterEach(() => {
    if (saved === undefined) delete process.env.SWITCHYARD_REGISTRY;
    else process.env.SWITCHYARD_REGISTRY = saved;
  });

  it('the CLI looks the model up in $SWITCHYARD_REGISTRY (exit 2 naming the unknown model), and says how without it', () => {
    process.env.SWITCHYARD_REGISTRY = join(tmp('sy-serve-reg-'), 'registry');
    expectBadInput(cli(['serve', '--model', 'churn@production', '--port', '0', '--quiet']), /churn/);
    delete process.env.SWITCHYARD_REGISTRY;
    const r = cli(['serve', '--model', 'churn@production', '--port', '0', '--quiet']);
    expectBadInput(r, /no --registry was given/);
    expect(r.stderr).toMatch(/SWITCHYARD_REGISTRY/);
  });
});

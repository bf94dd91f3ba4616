import { afterEach, describe, expect, it } from 'vitest';
import { trace } from '../../src/core/index.ts';
import { add } from '../../src/core/ops/index.ts';
import { CompiledGraph, defaultSpinPolicy, sessionOptions } from '../../src/runtime/session.ts';
import { expectSwitchyardError } from '../train/helpers.ts';

const saved = process.env.SWITCHYARD_SPIN;
afterEach(() => {
  if (saved === undefined) delete process.env.SWITCHYARD_SPIN;
  else process.env.SWITCHYARD_SPIN = saved;
});

const spinning = (o: ReturnType<typeof sessionOptions>) => (o.extra as { session: Record<string, unknown> }).session;

describe('ORT thread spinning', () => {
  it("'run' (the default) spins during a run and stops after it; 'always' keeps spinning; 'never' never spins", () => {
    delete process.env.SWITCHYARD_SPIN;
    expect(defaultSpinPolicy()).toBe('run');
    expect(spinning(sessionOptions())).toMatchObject({ intra_op: { allow_spinning: '1' }, force_spinning_stop: '1' });
    expect(spinning(sessionOptions({ spin: 'always' }))).toMatchObject({ intra_op: { allow_spinning: '1' }, force_spinning_stop: '0' });
    expect(spinning(sessionOptions({ spin: 'never' }))).toMatchObject({ intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } });
  });

  it('$SWITCHYARD_SPIN changes the default, a session option still wins, and a bad value is a clear error', async () => {
    process.env.SWITCHYARD_SPIN = 'never';
    expect(spinning(sessionOptions())).toMatchObject({ intra_op: { allow_spinning: '0' } });
    expect(spinning(sessionOptions({ spin: 'run' }))).toMatchObject({ intra_op: { allow_spinning: '1' }, force_spinning_stop: '1' });
    process.env.SWITCHYARD_SPIN = 'sometimes';
    await expectSwitchyardError(() => sessionOptions(), 'E_CONFIG', /SWITCHYARD_SPIN=sometimes/);
  });

  it('ONNX Runtime accepts every policy and computes the same result', async () => {
    const g = trace((g) => ({ y: add(g.input('x', 'f32', [3]), 1) }));
    for (const spin of ['run', 'always', 'never'] as const) {
      const c = await CompiledGraph.create(g, { threads: 2, spin });
      const out = await c.run({ x: { dtype: 'f32', shape: [3], data: Float32Array.of(1, 2, 3) } });
      expect([...(out.y.data as Float32Array)]).toEqual([2, 3, 4]);
      await c.release();
    }
  });
});

/**
 * What the optimizers record and check before any graph is built: PyTorch's defaults (torch.optim.AdamW:
 * betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2; torch.optim.SGD: momentum 0, nesterov False, weight_decay 0),
 * the state each keeps, and the range of momentum. The update rules themselves are checked against float64
 * references in tests/train/step.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { adamw, sgd } from '../../src/optim/optimizer.ts';
import { expectCode } from '../expect-error.ts';

describe('optimizer configuration', () => {
  it('AdamW: PyTorch defaults, recorded in config.json, two moment buffers', () => {
    const o = adamw();
    expect(o.name).toBe('adamw');
    expect(o.config).toEqual({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
    expect(o.stateNames).toEqual(['exp_avg', 'exp_avg_sq']);
    expect(adamw({ beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0 }).config).toEqual({ beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0 });
  });

  it('SGD: PyTorch defaults (plain, not Nesterov, no decay), a momentum buffer only with momentum', () => {
    const plain = sgd();
    expect(plain.name).toBe('sgd');
    expect(plain.config).toEqual({ momentum: 0, nesterov: false, weightDecay: 0 });
    expect(plain.stateNames).toEqual([]);
    const heavy = sgd({ momentum: 0.9 });
    expect(heavy.config).toEqual({ momentum: 0.9, nesterov: false, weightDecay: 0 });
    expect(heavy.stateNames).toEqual(['momentum_buffer']);
    expect(sgd({ momentum: 0.5, nesterov: true, weightDecay: 0.1 }).config).toEqual({ momentum: 0.5, nesterov: true, weightDecay: 0.1 });
  });

  it('SGD momentum must lie in [0, 1)', () => {
    for (const m of [1, 1.5, -0.1]) {
      const e = expectCode(() => sgd({ momentum: m }), 'E_CONFIG', new RegExp(`momentum ${m} is outside \\[0, 1\\)`));
      expect(e.hint).toMatch(/0\.9/);
    }
    expect(sgd({ momentum: 0 }).stateNames).toEqual([]);
    expect(sgd({ momentum: 0.999 }).stateNames).toEqual(['momentum_buffer']);
  });
});

/**
 * The rate limiter's Retry-After is the time until the next token at the refill rate: ceil((1 - tokens) / rate)
 * whole seconds (RFC 9110 §10.2.3: delay-seconds). Checked with an injected clock at rates where it is not 1.
 */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/serve/auth.ts';

describe('RateLimiter Retry-After', () => {
  it('follows the refill rate, and shrinks as the bucket refills', () => {
    let now = 0;
    const rl = new RateLimiter({ rate: 0.2, burst: 1 }, () => now);
    expect(rl.take('a')).toEqual({ ok: true });
    expect(rl.take('a')).toEqual({ ok: false, retryAfterS: 5 });
    now += 2500; // half a token back
    expect(rl.take('a')).toEqual({ ok: false, retryAfterS: 3 });
    now += 2500;
    expect(rl.take('a')).toEqual({ ok: true });
    expect(rl.take('b')).toEqual({ ok: true });
    const slow = new RateLimiter({ rate: 0.5, burst: 2 }, () => now);
    expect(slow.take('c')).toEqual({ ok: true });
    expect(slow.take('c')).toEqual({ ok: true });
    expect(slow.take('c')).toEqual({ ok: false, retryAfterS: 2 });
    // Fast rates still say at least one second.
    const fast = new RateLimiter({ rate: 50, burst: 1 }, () => now);
    fast.take('d');
    expect(fast.take('d')).toEqual({ ok: false, retryAfterS: 1 });
  });
});

import { describe, expect, it } from 'vitest';
import { formatDuration, formatRate, Progress } from '../../src/util/progress.ts';

function fakeStream(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { isTTY, columns, writes, write: (s: string) => writes.push(s) };
}

/** A manual clock, so tests never depend on wall-clock time. */
function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('formatDuration / formatRate', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(12)).toBe('0:12');
    expect(formatDuration(61.6)).toBe('1:02');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(NaN)).toBe('--:--');
    expect(formatDuration(Infinity)).toBe('--:--');
  });
  it('formats rates', () => {
    expect(formatRate(1234, 'ex')).toBe('1.2k ex/s');
    expect(formatRate(3.456, 'tok')).toBe('3.46 tok/s');
    expect(formatRate(42.25, 'ex')).toBe('42.3 ex/s');
    expect(formatRate(512, 'ex')).toBe('512 ex/s');
    expect(formatRate(2.5e6, 'tok')).toBe('2.5M tok/s');
    expect(formatRate(NaN, 'ex')).toBe('- ex/s');
  });
});

describe('Progress', () => {
  it('in lines mode, the rate of fine-grained, uneven ticks is the real rate', () => {
    const s = fakeStream(false);
    const c = clock();
    const p = new Progress({ total: 1000, label: 'check', unit: 'tok', stream: s, now: c.now, env: { SWITCHYARD_PROGRESS: 'lines' } });
    expect(p.mode).toBe('lines');
    for (let i = 0; i < 1000; i++) {
      c.advance(i % 2 ? 1.9 : 0.1); // 1k tok/s on average, every other token 19x slower
      p.tick(1);
    }
    const last = s.writes[s.writes.length - 1];
    expect(last).toMatch(/^check .*100% 1000\/1000/);
    const m = /([\d.]+)(k?) tok\/s/.exec(last)!;
    const rate = Number(m[1]) * (m[2] ? 1000 : 1);
    // Smoothing per-tick rates (10k and 526 tok/s here) read 4-6k tok/s.
    expect(rate).toBeGreaterThan(800);
    expect(rate).toBeLessThan(1200);
  });

  it('renders bar, percentage, rate, ETA and fields on one line on a TTY', () => {
    const s = fakeStream(true);
    const c = clock();
    const p = new Progress({ total: 1000, label: 'train', unit: 'ex', stream: s, now: c.now, env: {} });
    expect(p.mode).toBe('tty');
    c.advance(375);
    p.tick(450, { loss: 0.34217 });
    const line = s.writes.at(-1)!;
    expect(line.startsWith('\r')).toBe(true);
    expect(line).not.toContain('\n');
    // 450 ex in 0.375 s = 1200 ex/s; 550 left -> 0.46 s -> 0:00
    expect(line).toBe('\rtrain [#########-----------] 45% 1.2k ex/s ETA 0:00 loss 0.342');
  });

  it('redraws at most every 100 ms and ends with a newline', () => {
    const s = fakeStream(true);
    const c = clock();
    const p = new Progress({ total: 100, label: 'x', stream: s, now: c.now, env: {} });
    c.advance(10);
    p.tick(1); // first draw
    c.advance(50);
    p.tick(1); // throttled
    c.advance(20);
    p.tick(1); // throttled (70 ms since the first draw)
    expect(s.writes.length).toBe(1);
    c.advance(40);
    p.tick(1, { lr: 0.001 }); // 110 ms: draws
    expect(s.writes.length).toBe(2);
    expect(s.writes[1]).toContain(' 4% ');
    expect(s.writes[1]).toContain('lr 0.001');
    p.done();
    expect(s.writes.at(-1)).toBe('\n');
    const n = s.writes.length;
    p.tick(5);
    p.done();
    expect(s.writes.length).toBe(n);
  });

  it('computes a smoothed rate and an ETA', () => {
    const s = fakeStream(true);
    const c = clock();
    const p = new Progress({ total: 10_000, label: 'eval', unit: 'tok', stream: s, now: c.now, env: {} });
    for (let i = 0; i < 10; i++) {
      c.advance(1000);
      p.tick(100);
    }
    // steady 100 tok/s: 9000 left -> 90 s
    expect(s.writes.at(-1)).toContain('100 tok/s ETA 1:30');
  });

  it('pads over a longer previous line and truncates to the terminal width', () => {
    const s = fakeStream(true, 30);
    const c = clock();
    const p = new Progress({ total: 10, label: 'a', stream: s, now: c.now, env: {} });
    c.advance(200);
    p.tick(1, { note: 'a long field value here' });
    expect(s.writes[0].length).toBe(1 + 29);
    c.advance(200);
    p.set(2, { note: '' });
    expect(s.writes[1].length).toBeGreaterThanOrEqual(s.writes[0].length);
  });

  it('shows a count instead of a bar when the total is unknown', () => {
    const s = fakeStream(true);
    const c = clock();
    const p = new Progress({ total: 0, label: 'read', unit: 'rows', stream: s, now: c.now, env: {} });
    c.advance(500);
    p.tick(50);
    expect(s.writes[0]).toBe('\rread 50 rows 100 rows/s');
  });

  it('is silent when not a TTY, or when disabled', () => {
    const s = fakeStream(false);
    const p = new Progress({ total: 10, label: 'x', stream: s, env: {} });
    p.tick(5);
    p.done();
    expect(p.mode).toBe('off');
    const t = fakeStream(true);
    const q = new Progress({ total: 10, label: 'x', stream: t, enabled: false, env: {} });
    q.tick(5);
    q.done();
    expect(t.writes).toEqual([]);
    expect(s.writes).toEqual([]);
    expect(q.current).toBe(5);
  });

  it('prints plain lines every N% with SWITCHYARD_PROGRESS=lines on a non-TTY', () => {
    const s = fakeStream(false);
    const c = clock();
    const p = new Progress({ total: 100, label: 'train', unit: 'ex', stream: s, now: c.now, env: { SWITCHYARD_PROGRESS: 'lines' }, linePercent: 25 });
    expect(p.mode).toBe('lines');
    for (let i = 0; i < 100; i++) {
      c.advance(10);
      p.tick(1, { loss: 1 / (i + 1) });
    }
    p.done();
    expect(s.writes.every((w) => w.endsWith('\n') && !w.includes('\r'))).toBe(true);
    expect(s.writes.map((w) => w.split(' ')[1])).toEqual(['1%', '25%', '50%', '75%', '100%']);
    expect(s.writes[4]).toMatch(/^train 100% 100\/100 100 ex\/s ETA 0:00 loss 0\.01\n$/);
  });
});

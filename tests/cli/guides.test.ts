/**
 * The walk-throughs in docs/guide-*.md are executable: every fenced ```sh block preceded by `<!-- run -->`
 * (or `<!-- run exit=N -->` for a command that must exit N) runs, in order, as one bash script per guide, in one
 * shared temp directory, with `npx switchyard` bound to this checkout's CLI. A block repeated verbatim by a later
 * guide (the `switchyard demo` set-up) runs once. Port 8080 is replaced by a free port.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tmp } from './helpers.ts';

const GUIDES = ['guide-audit.md', 'guide-eval.md', 'guide-ship.md', 'guide-compress.md', 'governance.md'];
const BLOCK = /<!--\s*run(?:\s+exit=(\d+))?\s*-->\s*\n```sh\n([\s\S]*?)```/g;

/** The runnable blocks of a guide: code and expected exit code. */
function runBlocks(md: string): { code: string; exit: number }[] {
  return [...md.matchAll(BLOCK)].map((m) => ({ code: m[2], exit: m[1] === undefined ? 0 : Number(m[1]) }));
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('docs/guide-*.md walk-throughs run as documented', () => {
  const dir = tmp('sy-guides-');
  const seen = new Set<string>();
  for (const guide of GUIDES) {
    it(guide, async () => {
      const blocks = runBlocks(readFileSync(join(ROOT, 'docs', guide), 'utf8'));
      expect(blocks.length).toBeGreaterThan(2);
      const port = await freePort();
      const lines = [
        'set -eo pipefail',
        // In a subshell (`npx switchyard serve &`, `$(…)`, a pipe) the function execs node, so `$!` and `kill $SERVER`
        // reach the server itself, as with the real npx; else the server outlives the test.
        `sy() { node ${JSON.stringify(join(ROOT, 'bin/switchyard-dev.js'))} "$@"; }`,
        `npx() { if [ "$1" != switchyard ]; then command npx "$@"; return; fi; shift; `
          + `if [ "$BASHPID" != "$$" ]; then exec node ${JSON.stringify(join(ROOT, 'bin/switchyard-dev.js'))} "$@"; fi; sy "$@"; }`,
        "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
      ];
      blocks.forEach((b, i) => {
        if (seen.has(b.code)) return;
        seen.add(b.code);
        const code = b.code.replaceAll('8080', String(port));
        lines.push(`echo "::block ${i + 1}"`);
        if (b.exit === 0) lines.push(code);
        else lines.push(`set +e\n${code}\nrc=$?\nset -e\nif [ $rc -ne ${b.exit} ]; then echo "::block ${i + 1} exited $rc, expected ${b.exit}"; exit 1; fi`);
      });
      const r = spawnSync('bash', ['-c', lines.join('\n') + '\n'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 120_000,
        // NODE_PATH lets the guides' `node -e`/.cjs snippets require this checkout's dependencies (the SpamAssassin corpus).
        env: { ...process.env, FORCE_COLOR: '0', NODE_PATH: join(ROOT, 'node_modules') },
      });
      expect(r.status, `${guide} failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`).toBe(0);
      expect(r.stdout).not.toMatch(/exited \d+, expected/);
    }, 120_000);
  }
});

import { spawn } from 'node:child_process';
import { REPO_ROOT } from './report.ts';

/**
 * Runs a peer in a child process (its own runtime, its own peak memory) and resolves with the last JSON
 * line it printed on stdout; rejects with the tail of its stderr when it fails.
 */
export function runJsonChild<T>(label: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return new Promise<T>((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').reverse().find((l) => l.trim().startsWith('{'));
      if (code !== 0 || !line) {
        reject(new Error(`${label}: child exited with ${code}\n${err.trim().slice(-2000)}`));
        return;
      }
      try {
        resolvePromise(JSON.parse(line) as T);
      } catch (e) {
        reject(new Error(`${label}: could not parse child output: ${(e as Error).message}`));
      }
    });
  });
}

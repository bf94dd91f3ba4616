/**
 * Crash points for tests: `SWITCHYARD_TEST_KILL_AT=<point>` (or `<point>@<n>` for its n-th passage, 1-based)
 * makes the process SIGKILL itself right after the write that the point names, so crash-safety tests kill at
 * an exact place instead of at a random time. Unset (always, outside tests) it does nothing.
 *
 * @module
 */

const passed = new Map<string, number>();

/**
 * Marks a crash point; kills the process (SIGKILL, no cleanup) when `SWITCHYARD_TEST_KILL_AT` names it.
 *
 * @example
 * await writeFileAtomic(file, bytes);
 * killPoint('checkpoint:model'); // SWITCHYARD_TEST_KILL_AT=checkpoint:model kills here
 */
export function killPoint(name: string): void {
  const at = process.env.SWITCHYARD_TEST_KILL_AT;
  if (!at) return;
  const [point, nth] = at.split('@');
  if (point !== name) return;
  const n = (passed.get(name) ?? 0) + 1;
  passed.set(name, n);
  if (n === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}

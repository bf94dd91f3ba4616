/**
 * Crash-test hook of the registry. With `SWITCHYARD_REGISTRY_PAUSE=<point>` in the environment, the process
 * prints `SWITCHYARD_REGISTRY_PAUSED <point>` on stderr when it reaches that point and waits forever, so a
 * test can kill it there with SIGKILL. Points: `blob-staged` (a blob's bytes are in a temp file of the
 * file store, not yet renamed to their hash), `after-files` (every blob stored, no version row yet),
 * `in-transaction` (rows written, not committed), `materialize-files` (a version's files are in a fresh
 * temp directory, not yet renamed in).
 */

/**
 * Waits forever when `SWITCHYARD_REGISTRY_PAUSE` names `point`; returns at once otherwise.
 *
 * @param point the name of this place in the code
 * @example
 * await pausePoint('after-files');
 */
export async function pausePoint(point: string): Promise<void> {
  if (process.env.SWITCHYARD_REGISTRY_PAUSE !== point) return;
  process.stderr.write(`SWITCHYARD_REGISTRY_PAUSED ${point}\n`);
  await new Promise(() => setInterval(() => undefined, 60_000));
}

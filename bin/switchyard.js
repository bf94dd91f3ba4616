#!/usr/bin/env node
// The installed CLI: the compiled JavaScript in dist/ (built by `npm run build`, which `npm ci` runs as `prepare`).
// The repository's tests run the TypeScript sources instead, through bin/switchyard-dev.js.
try {
  await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('error: switchyard is not built (no dist/cli/main.js)\nhint: run npm run build\n');
  process.exit(2);
}
